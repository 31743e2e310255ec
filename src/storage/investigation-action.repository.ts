import { sql } from 'kysely';
import {
  type ActionKind,
  type ActionStatus,
  type ActionTarget,
  type Actor,
  ApprovalErrorCode,
  type AuditEntry,
  type Clock,
  type Decision,
  decideOn,
  fail,
  type InvestigationEntityKind,
  ok,
  principalKey,
  type Result,
} from '../domain/index.js';
import { json } from './alert.mapper.js';
import { appendAudit, withAudit } from './audit.repository.js';
import type { Db, DbHandle } from './db.js';
import { retryOnDeadlock } from './deadlock.js';
import { actMessage, executionsInsert, refreshStatus } from './investigation.repository.js';
import { outboxInsert } from './outbox.repository.js';

/** A remediation action as the API and the chat adapters show it. */
export interface ActionView {
  readonly id: string;
  readonly number: string;
  readonly investigationId: string;
  readonly alertId: string;
  readonly kind: ActionKind;
  readonly target: ActionTarget;
  readonly reason: string;
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly status: ActionStatus;
  readonly requestedBy: Actor;
  readonly approvalsNeeded: number;
  readonly decisions: readonly {
    readonly approver: Actor;
    readonly approverKey: string;
    readonly decision: Decision;
    readonly reason: string | null;
    readonly at: Date;
  }[];
  readonly result: unknown;
  readonly error: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

const actionColumns = [
  'a.id',
  'a.number',
  'a.investigation_id',
  'i.trigger_alert_id',
  'a.kind',
  'a.target_kind',
  'a.target_key',
  'a.target_display',
  'a.target_count',
  'a.privileged',
  'a.reason',
  'a.evidence',
  'a.status',
  'a.requested_by',
  'a.approvals_needed',
  'a.result',
  'a.error',
  'a.created_at',
  'a.updated_at',
  // The decisions in the same statement: showing an action costs one query, not two.
  sql<DecisionRow[]>`coalesce((SELECT json_agg(json_build_object('approver', d.approver,
    'approver_key', d.approver_key, 'decision', d.decision, 'reason', d.reason, 'at', d.at) ORDER BY d.id)
    FROM action_decisions d WHERE d.action_id = a.id), '[]'::json)`.as('decision_rows'),
] as const;

/** A decision as `json_agg` gives it: its time is text. */
type DecisionRow = {
  approver: Actor;
  approver_key: string;
  decision: Decision;
  reason: string | null;
  at: string;
};

/** Actions with their decisions, newest first; `status` filters (pending approval by default in the API). */
export async function listActions(
  db: Db,
  filter: {
    statuses?: readonly ActionStatus[];
    investigationId?: string;
    ids?: readonly string[];
    limit?: number;
  },
): Promise<ActionView[]> {
  let query = db
    .selectFrom('actions as a')
    .innerJoin('investigations as i', 'i.id', 'a.investigation_id')
    .select(actionColumns)
    .orderBy('a.created_at', 'desc')
    .orderBy('a.number', 'desc')
    .limit(filter.limit ?? 200);
  if (filter.statuses !== undefined && filter.statuses.length > 0)
    query = query.where('a.status', 'in', filter.statuses);
  if (filter.investigationId !== undefined)
    query = query.where('a.investigation_id', '=', filter.investigationId);
  if (filter.ids !== undefined)
    query = query.where('a.id', 'in', filter.ids.length === 0 ? [''] : filter.ids);
  const rows = await query.execute();
  return rows.map((row) => ({
    id: row.id,
    number: row.number,
    investigationId: row.investigation_id,
    alertId: row.trigger_alert_id,
    kind: row.kind as ActionKind,
    target: {
      kind: row.target_kind as InvestigationEntityKind,
      key: row.target_key,
      displayName: row.target_display,
      count: row.target_count,
      privileged: row.privileged,
    },
    reason: row.reason,
    evidence: row.evidence,
    status: row.status as ActionStatus,
    requestedBy: row.requested_by as Actor,
    approvalsNeeded: row.approvals_needed,
    decisions: row.decision_rows.map((decision) => ({
      approver: decision.approver,
      approverKey: decision.approver_key,
      decision: decision.decision,
      reason: decision.reason,
      at: new Date(decision.at),
    })),
    result: row.result,
    error: row.error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }));
}

export async function getAction(db: Db, actionId: string): Promise<ActionView | null> {
  if (!/^[0-9a-f-]{36}$/i.test(actionId)) return null;
  return (await listActions(db, { ids: [actionId], limit: 1 }))[0] ?? null;
}

/**
 * Approve or reject one action, for the decide-action command (which checked the permission).
 * In one transaction, under the action's row lock (so double clicks and two approvers at once serialise): the domain's
 * approval rules, the decision row (unique per action and approver), the action's status, its
 * execution row and `act` outbox row when approved, the investigation's status, and audit rows
 * on the triggering alert. Refusals are audited too. `action.needs_second_approver` means the
 * approval was recorded and the action still waits.
 */
export async function decideAction(
  handle: DbHandle,
  actionId: string,
  actor: Actor,
  decision: Decision,
  reason: string | undefined,
  clock: Clock,
): Promise<Result<ActionView>> {
  if (!/^[0-9a-f-]{36}$/i.test(actionId)) return fail(ApprovalErrorCode.NotFound, `No action ${actionId}.`);
  // A claim by the act worker locks the action, then sometimes the investigation: a deadlock with
  // it is broken by Postgres, and this decision is taken again once the claim has committed.
  const outcome = await retryOnDeadlock(() => decideOnce(handle, actionId, actor, decision, reason, clock));
  if (!outcome.ok) return outcome;
  const view = await getAction(handle.db, actionId);
  return view === null ? fail(ApprovalErrorCode.NotFound, `No action ${actionId}.`) : ok(view);
}

function decideOnce(
  handle: DbHandle,
  actionId: string,
  actor: Actor,
  decision: Decision,
  reason: string | undefined,
  clock: Clock,
) {
  return handle.db.transaction().execute(async (trx) => {
    const now = clock.now();
    // The investigation's lock first, as terminating takes it: a decision and a termination never
    // interleave (an action approved while its investigation is terminated would still run).
    await trx
      .selectFrom('investigations')
      .select('id')
      .where('id', '=', (eb) =>
        eb.selectFrom('actions').select('investigation_id').where('id', '=', actionId),
      )
      .forUpdate()
      .execute();
    // Its decisions in the same statement: any other decision on it committed before this
    // transaction took the investigation's lock above, so this statement's snapshot sees them all.
    const action = await trx
      .selectFrom('actions as a')
      .innerJoin('investigations as i', 'i.id', 'a.investigation_id')
      .select([
        'a.id',
        'a.status',
        'a.requested_by_key',
        'a.approvals_needed',
        'a.investigation_id',
        'i.trigger_alert_id',
        sql<{ approver_key: string; decision: Decision }[]>`coalesce((SELECT json_agg(json_build_object(
          'approver_key', d.approver_key, 'decision', d.decision)) FROM action_decisions d
          WHERE d.action_id = a.id), '[]'::json)`.as('earlier'),
      ])
      .where('a.id', '=', actionId)
      .forUpdate('a')
      .executeTakeFirst();
    if (action === undefined) return fail(ApprovalErrorCode.NotFound, `No action ${actionId}.`);
    const decided = decideOn(
      {
        status: action.status as ActionStatus,
        requestedByKey: action.requested_by_key,
        approvalsNeeded: action.approvals_needed,
        decisions: action.earlier.map((row) => ({ approverKey: row.approver_key, decision: row.decision })),
      },
      actor,
      decision,
      reason,
    );
    const base = { investigationId: action.investigation_id, actionId, decision };
    const decisionRow = {
      action_id: actionId,
      approver: json(actor),
      approver_key: principalKey(actor),
      decision,
      reason: reason?.trim() || null,
      at: now,
    };
    if (!decided.ok) {
      const recorded = decided.error.code === ApprovalErrorCode.NeedsSecondApprover;
      const entry: AuditEntry = {
        alertId: action.trigger_alert_id,
        actor,
        action: recorded ? 'action.approval_recorded' : 'action.decision_refused',
        details: {
          ...base,
          code: decided.error.code,
          ...(recorded ? {} : { reason: decided.error.message }),
        },
        at: now,
      };
      if (recorded)
        await withAudit(trx, [entry]).insertInto('action_decisions').values(decisionRow).execute();
      else await appendAudit(trx, [entry]);
      return decided;
    }
    // The decision, the action's new status, and its execution and `act` rows when approved, in
    // one statement; the investigation's status is derived after it, from what it wrote.
    const approved = decided.value.status === 'approved';
    const withDecision = trx.with('decision_row', () =>
      trx.insertInto('action_decisions').values(decisionRow),
    );
    const moved = { status: decided.value.status, updated_at: now };
    if (approved)
      await withDecision
        .with('execution_row', () => executionsInsert(trx, [actionId]))
        .with('outbox_rows', () => outboxInsert(trx, [actMessage(actionId)]))
        .updateTable('actions')
        .set(moved)
        .where('id', '=', actionId)
        .execute();
    else await withDecision.updateTable('actions').set(moved).where('id', '=', actionId).execute();
    const audit: AuditEntry[] = [
      {
        alertId: action.trigger_alert_id,
        actor,
        action: approved ? 'action.approved' : 'action.rejected',
        details: {
          ...base,
          ...(decision === 'reject' ? { reason } : { approvals: decided.value.approvals }),
        },
        at: now,
      },
    ];
    await refreshStatus(trx, action.investigation_id, now, audit);
    await appendAudit(trx, audit);
    return ok(true);
  });
}

/** What the act worker needs to call the remote system. */
export interface ClaimedExecution {
  readonly actionId: string;
  readonly idempotencyKey: string;
  readonly attempts: number;
  readonly action: ActionView;
}

export type ClaimOutcome =
  | { readonly kind: 'claimed'; readonly execution: ClaimedExecution }
  | { readonly kind: 'finished' }
  | { readonly kind: 'in_flight'; readonly until: Date }
  | { readonly kind: 'missing' };

/**
 * Claims an approved action's one execution before any remote call: the row is taken when it is
 * pending, or when an earlier claim's lease ran out (its worker died mid-call). Two workers
 * holding the same job never call at once; a finished execution is never claimed again.
 */
export async function claimExecution(
  handle: DbHandle,
  actionId: string,
  executor: string,
  leaseMs: number,
  clock: Clock,
): Promise<ClaimOutcome> {
  const claimed = await handle.db.transaction().execute(async (trx) => {
    const now = clock.now();
    const row = await trx
      .updateTable('action_executions')
      .set({
        status: 'claimed',
        executor,
        attempts: sql`attempts + 1`,
        claimed_until: sql`now() + make_interval(secs => ${leaseMs / 1000})`,
      })
      .where('action_id', '=', actionId)
      .where((eb) =>
        eb.or([
          eb('status', '=', 'pending'),
          eb.and([eb('status', '=', 'claimed'), eb('claimed_until', '<', sql<Date>`now()`)]),
        ]),
      )
      .returning(['idempotency_key', 'attempts'])
      .executeTakeFirst();
    if (row === undefined) return null;
    const moved = await trx
      .updateTable('actions as a')
      .set({ status: 'running', updated_at: now })
      .where('a.id', '=', actionId)
      .where('a.status', '=', 'approved')
      .returning('a.investigation_id')
      .executeTakeFirst();
    if (moved !== undefined) {
      const audit: AuditEntry[] = [];
      await refreshStatus(trx, moved.investigation_id, now, audit);
      const trigger = await trx
        .selectFrom('investigations')
        .select('trigger_alert_id')
        .where('id', '=', moved.investigation_id)
        .executeTakeFirstOrThrow();
      audit.unshift({
        alertId: trigger.trigger_alert_id,
        actor: { kind: 'system' },
        action: 'action.running',
        details: { actionId, executor },
        at: now,
      });
      await appendAudit(trx, audit);
    }
    return row;
  });
  if (claimed !== null) {
    const action = await getAction(handle.db, actionId);
    if (action === null) return { kind: 'missing' };
    return {
      kind: 'claimed',
      execution: { actionId, idempotencyKey: claimed.idempotency_key, attempts: claimed.attempts, action },
    };
  }
  const row = await handle.db
    .selectFrom('action_executions')
    .select(['status', 'claimed_until'])
    .where('action_id', '=', actionId)
    .executeTakeFirst();
  if (row === undefined) return { kind: 'missing' };
  if (row.status === 'done' || row.status === 'failed') return { kind: 'finished' };
  return { kind: 'in_flight', until: row.claimed_until ?? new Date() };
}

/** Gives a claim back after a retryable failure, so the next attempt (any worker) may call again. */
export async function releaseExecution(handle: DbHandle, actionId: string, error: string): Promise<void> {
  await handle.db
    .updateTable('action_executions')
    .set({ status: 'pending', claimed_until: null, error: error.slice(0, 2000) })
    .where('action_id', '=', actionId)
    .where('status', '=', 'claimed')
    .execute();
}

/**
 * Records how an execution ended, once: the execution row, the action (done, or failed with the
 * reason), the investigation's status, and audit rows, in one transaction.
 */
export async function finishExecution(
  handle: DbHandle,
  actionId: string,
  outcome: { readonly ok: true; readonly response: unknown } | { readonly ok: false; readonly error: string },
  clock: Clock,
): Promise<void> {
  await handle.db.transaction().execute(async (trx) => {
    const now = clock.now();
    const finished = await trx
      .updateTable('action_executions')
      .set({
        status: outcome.ok ? 'done' : 'failed',
        finished_at: now,
        claimed_until: null,
        response: outcome.ok ? json(outcome.response ?? null) : null,
        error: outcome.ok ? null : outcome.error.slice(0, 2000),
      })
      .where('action_id', '=', actionId)
      .where('status', 'in', ['claimed', 'pending'])
      .returning('action_id')
      .executeTakeFirst();
    if (finished === undefined) return;
    const action = await trx
      .updateTable('actions')
      .set({
        status: outcome.ok ? 'done' : 'failed',
        result: outcome.ok ? json(outcome.response ?? null) : null,
        error: outcome.ok ? null : outcome.error.slice(0, 2000),
        updated_at: now,
      })
      .where('id', '=', actionId)
      .returning(['investigation_id', 'kind', 'target_key'])
      .executeTakeFirstOrThrow();
    const trigger = await trx
      .selectFrom('investigations')
      .select('trigger_alert_id')
      .where('id', '=', action.investigation_id)
      .executeTakeFirstOrThrow();
    const audit: AuditEntry[] = [
      {
        alertId: trigger.trigger_alert_id,
        actor: { kind: 'system' },
        action: outcome.ok ? 'action.done' : 'action.failed',
        details: {
          actionId,
          kind: action.kind,
          target: action.target_key,
          ...(outcome.ok ? {} : { error: outcome.error.slice(0, 500) }),
        },
        at: now,
      },
    ];
    await refreshStatus(trx, action.investigation_id, now, audit);
    await appendAudit(trx, audit);
  });
}
