import { sql } from 'kysely';
import {
  type Actor,
  type ApprovalPolicy,
  type AuditEntry,
  type AutomationLevel,
  approvalsNeeded,
  attemptScope,
  type Clock,
  deriveStatus,
  type EntityVerdict,
  entityKey,
  type Finding,
  type InvestigationEntity,
  type InvestigationEntityKind,
  type InvestigationStatus,
  initialActionStatus,
  isOpenInvestigation,
  isThreat,
  mergeVerdict,
  moveInvestigation,
  type OutboxMessage,
  type Playbook,
  type PlaybookStep,
  proposeActions,
  stepsFor,
  VERDICTS,
  type Verdict,
} from '../domain/index.js';
import { json } from './alert.mapper.js';
import { appendAudit } from './audit.repository.js';
import { inChunks } from './chunks.js';
import type { Db, DbHandle } from './db.js';
import { appendOutbox } from './outbox.repository.js';

const verdictList = sql.raw(`ARRAY[${VERDICTS.map((v) => `'${v}'`).join(',')}]`);

export const actMessage = (actionId: string): OutboxMessage => ({ topic: 'act', payload: { actionId } });

/** The idempotency key of an action's one execution: also sent to the remote system. */
export const idempotencyKeyFor = (actionId: string): string => `vigil-action-${actionId}`;

/** Everything the investigate worker needs to run one round of a playbook. */
export interface InvestigationRun {
  readonly id: string;
  readonly status: InvestigationStatus;
  readonly triggerAlertId: string;
  readonly scopeRound: number;
  readonly automation: AutomationLevel;
  readonly steps: readonly PlaybookStep[];
  /** Steps of this round that already have a logged result (a resumed job skips them). */
  readonly doneSteps: ReadonlySet<string>;
  readonly entities: readonly InvestigationEntity[];
  readonly alerts: readonly RunAlert[];
}

export interface RunAlert {
  readonly id: string;
  readonly source: string;
  readonly title: string;
  readonly severity: string;
  readonly category: string | null;
  readonly createdAt: Date;
  readonly entities: readonly {
    readonly kind: string;
    readonly key: string;
    readonly attributes: Readonly<Record<string, unknown>>;
  }[];
}

const toEntity = (row: {
  kind: string;
  key: string;
  display_name: string;
  verdict: string;
  why: string;
  attributes: Record<string, unknown>;
}): InvestigationEntity => ({
  kind: row.kind as InvestigationEntityKind,
  key: row.key,
  displayName: row.display_name,
  verdict: row.verdict as Verdict,
  why: row.why,
  attributes: row.attributes,
});

async function playbookSteps(
  db: Db,
  playbook: unknown,
  triggerAlertId: string,
): Promise<readonly PlaybookStep[]> {
  const alert = await db
    .selectFrom('alerts')
    .select('category')
    .where('id', '=', triggerAlertId)
    .executeTakeFirst();
  return stepsFor(playbook as Playbook, alert?.category ?? null);
}

/** Loads an investigation for a run of `round`; null when it is gone. */
export async function loadRun(
  db: Db,
  investigationId: string,
  round: number,
): Promise<InvestigationRun | null> {
  const row = await db
    .selectFrom('investigations')
    .selectAll()
    .where('id', '=', investigationId)
    .executeTakeFirst();
  if (row === undefined) return null;
  const [steps, done, entities, alerts, alertEntities] = await Promise.all([
    playbookSteps(db, row.playbook, row.trigger_alert_id),
    db
      .selectFrom('step_log')
      .select('step_key')
      .where('investigation_id', '=', investigationId)
      .where('attempt_scope', '=', attemptScope(round))
      .execute(),
    db
      .selectFrom('investigation_entities')
      .selectAll()
      .where('investigation_id', '=', investigationId)
      .execute(),
    db
      .selectFrom('investigation_alerts as ia')
      .innerJoin('alerts as a', 'a.id', 'ia.alert_id')
      .select(['a.id', 'a.source', 'a.title', 'a.severity', 'a.category', 'a.created_at'])
      .where('ia.investigation_id', '=', investigationId)
      .orderBy('ia.joined_at')
      .execute(),
    db
      .selectFrom('investigation_alerts as ia')
      .innerJoin('alert_entities as ae', 'ae.alert_id', 'ia.alert_id')
      .select(['ae.alert_id', 'ae.kind', 'ae.key', 'ae.attributes'])
      .where('ia.investigation_id', '=', investigationId)
      .execute(),
  ]);
  return {
    id: row.id,
    status: row.status as InvestigationStatus,
    triggerAlertId: row.trigger_alert_id,
    scopeRound: row.scope_round,
    automation: row.automation as AutomationLevel,
    steps,
    doneSteps: new Set(done.map((step) => step.step_key)),
    entities: entities.map(toEntity),
    alerts: alerts.map((alert) => ({
      id: alert.id,
      source: alert.source,
      title: alert.title,
      severity: alert.severity,
      category: alert.category,
      createdAt: alert.created_at,
      entities: alertEntities
        .filter((entity) => entity.alert_id === alert.id)
        .map((entity) => ({ kind: entity.kind, key: entity.key, attributes: entity.attributes })),
    })),
  };
}

/** Moves a queued (or waiting) investigation to running as a round starts; audited once per change. */
export async function markRunning(
  handle: DbHandle,
  investigationId: string,
  round: number,
  clock: Clock,
): Promise<void> {
  await handle.db.transaction().execute(async (trx) => {
    const now = clock.now();
    const moved = await trx
      .updateTable('investigations')
      .set({ status: 'running', updated_at: now })
      .where('id', '=', investigationId)
      .where('status', 'in', ['queued', 'pending_approval'])
      .returning(['trigger_alert_id', 'status'])
      .executeTakeFirst();
    if (moved === undefined) return;
    await appendAudit(trx, [
      {
        alertId: moved.trigger_alert_id,
        actor: { kind: 'system' },
        action: 'investigation.status_changed',
        details: { investigationId, to: 'running', round },
        at: now,
      },
    ]);
  });
}

/** One step's result, as the worker hands it over. */
export interface StepResult {
  readonly step: PlaybookStep;
  readonly round: number;
  readonly startedAt: Date;
  readonly endedAt: Date;
  readonly outcome: 'succeeded' | 'failed';
  readonly error: string | null;
  readonly verdicts: readonly EntityVerdict[];
  readonly findings: readonly Finding[];
  readonly summary: Readonly<Record<string, unknown>>;
}

/**
 * Writes a step's result once: the step_log row is keyed (investigation, step, round), and the
 * verdicts and findings go in only if this call wrote that row. A worker killed after the step
 * but before this commit re-runs the step; one killed after the commit skips it. Returns whether
 * this call wrote it.
 */
export async function recordStep(
  handle: DbHandle,
  investigationId: string,
  triggerAlertId: string,
  result: StepResult,
): Promise<boolean> {
  return handle.db.transaction().execute(async (trx) => {
    const scope = attemptScope(result.round);
    const logged = await trx
      .insertInto('step_log')
      .values({
        investigation_id: investigationId,
        step_key: result.step.key,
        attempt_scope: scope,
        provider: result.step.provider,
        started_at: result.startedAt,
        ended_at: result.endedAt,
        outcome: result.outcome,
        error: result.error?.slice(0, 2000) ?? null,
        summary: json(result.summary),
      })
      .onConflict((oc) => oc.columns(['investigation_id', 'step_key', 'attempt_scope']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (logged === undefined) return false;
    // A provider may answer with a key in another case than the entity's: it is the same entity.
    const merged = mergeByEntity(
      result.verdicts.map((verdict) => ({ ...verdict, key: entityKey(verdict.kind, verdict.key) })),
    );
    // A scope of thousands of entities needs more than one statement (chunks.ts).
    for (const chunk of inChunks(merged, 8)) {
      await trx
        .insertInto('investigation_entities')
        .values(
          chunk.map((verdict) => ({
            investigation_id: investigationId,
            kind: verdict.kind,
            key: verdict.key,
            display_name: verdict.key,
            verdict: verdict.verdict,
            why: verdict.why,
            attributes: json(verdict.attributes ?? {}),
            source_alert_id: null,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['investigation_id', 'kind', 'key']).doUpdateSet({
            // The worse verdict wins, with its reason; a clean answer outranks unknown (domain's worseVerdict).
            verdict: sql`CASE WHEN array_position(${verdictList}, excluded.verdict)
              > array_position(${verdictList}, investigation_entities.verdict) THEN excluded.verdict
              ELSE investigation_entities.verdict END`,
            why: sql`CASE WHEN array_position(${verdictList}, excluded.verdict)
              > array_position(${verdictList}, investigation_entities.verdict) OR investigation_entities.why = ''
              THEN excluded.why ELSE investigation_entities.why END`,
            attributes: sql`investigation_entities.attributes || excluded.attributes`,
            updated_at: sql`now()`,
          }),
        )
        .execute();
    }
    for (const chunk of inChunks(result.findings, 9)) {
      await trx
        .insertInto('findings')
        .values(
          chunk.map((finding) => ({
            investigation_id: investigationId,
            step_key: result.step.key,
            attempt_scope: scope,
            key: finding.key,
            title: finding.title,
            verdict: finding.verdict,
            entity_kind: finding.entity?.kind ?? null,
            entity_key: finding.entity === null ? null : entityKey(finding.entity.kind, finding.entity.key),
            details: json(finding.details),
          })),
        )
        .onConflict((oc) => oc.columns(['investigation_id', 'step_key', 'attempt_scope', 'key']).doNothing())
        .execute();
    }
    await appendAudit(trx, [
      {
        alertId: triggerAlertId,
        actor: { kind: 'system' },
        action: result.outcome === 'succeeded' ? 'investigation.step_succeeded' : 'investigation.step_failed',
        details: {
          investigationId,
          step: result.step.key,
          provider: result.step.provider,
          round: result.round,
          ...(result.error === null ? {} : { error: result.error.slice(0, 500) }),
        },
        at: result.endedAt,
      },
    ]);
    return true;
  });
}

/** One verdict per entity (the worse), so one upsert never touches a row twice. */
function mergeByEntity(verdicts: readonly EntityVerdict[]): EntityVerdict[] {
  const byKey = new Map<string, InvestigationEntity>();
  for (const verdict of verdicts) {
    const id = `${verdict.kind}\u0000${verdict.key}`;
    const current = byKey.get(id) ?? {
      kind: verdict.kind,
      key: verdict.key,
      displayName: verdict.key,
      verdict: 'unknown' as const,
      why: '',
      attributes: {},
    };
    byKey.set(id, mergeVerdict(current, verdict));
  }
  return [...byKey.values()].map(({ kind, key, verdict, why, attributes }) => ({
    kind,
    key,
    verdict,
    why,
    attributes,
  }));
}

/**
 * Ends a round: proposes the actions the verdicts call for (stored once: unique per
 * investigation, kind and target), approves by policy under `full` automation and queues those
 * to `act`, keeps recommendations only under `none`, and derives the status. Skipped when a
 * newer round started meanwhile (a related alert joined): that round settles instead.
 */
export async function settleRound(
  handle: DbHandle,
  investigationId: string,
  round: number,
  policy: ApprovalPolicy,
  clock: Clock,
): Promise<InvestigationStatus | null> {
  return handle.db.transaction().execute(async (trx) => {
    const now = clock.now();
    const inv = await trx
      .selectFrom('investigations')
      .selectAll()
      .where('id', '=', investigationId)
      .forUpdate()
      .executeTakeFirst();
    if (
      inv === undefined ||
      inv.scope_round !== round ||
      !isOpenInvestigation(inv.status as InvestigationStatus)
    ) {
      return null;
    }
    const entities = (
      await trx
        .selectFrom('investigation_entities')
        .selectAll()
        .where('investigation_id', '=', investigationId)
        .execute()
    ).map(toEntity);
    const proposals = proposeActions(entities);
    const automation = inv.automation as AutomationLevel;
    const audit: AuditEntry[] = [];
    const outbox: OutboxMessage[] = [];
    if (automation === 'none') {
      if (proposals.length > 0) {
        await trx
          .insertInto('findings')
          .values(
            proposals.map((proposal) => ({
              investigation_id: investigationId,
              step_key: 'recommendations',
              attempt_scope: attemptScope(round),
              key: `${proposal.kind}:${proposal.target.key}`,
              title: `Recommended: ${proposal.kind.replaceAll('_', ' ')} ${proposal.target.displayName}`,
              verdict: 'suspicious',
              entity_kind: proposal.target.kind,
              entity_key: proposal.target.key,
              details: json({ recommendation: proposal.kind, reason: proposal.reason }),
            })),
          )
          .onConflict((oc) =>
            oc.columns(['investigation_id', 'step_key', 'attempt_scope', 'key']).doNothing(),
          )
          .execute();
      }
    } else if (proposals.length > 0) {
      const requestedBy = inv.started_by as Actor;
      const inserted = await trx
        .insertInto('actions')
        .values(
          proposals.map((proposal) => {
            const status = initialActionStatus(automation, proposal, policy) ?? 'pending_approval';
            return {
              investigation_id: investigationId,
              kind: proposal.kind,
              target_kind: proposal.target.kind,
              target_key: proposal.target.key,
              target_display: proposal.target.displayName,
              target_count: proposal.target.count,
              privileged: proposal.target.privileged,
              approvals_needed: approvalsNeeded(proposal, policy),
              reason: proposal.reason.slice(0, 2000),
              evidence: json({ ...proposal.evidence, round }),
              status,
              requested_by: json(requestedBy),
              requested_by_key: inv.started_by_key,
              created_at: now,
              updated_at: now,
            };
          }),
        )
        .onConflict((oc) => oc.columns(['investigation_id', 'kind', 'target_key']).doNothing())
        .returning(['id', 'kind', 'target_key', 'status'])
        .execute();
      for (const action of inserted) {
        audit.push({
          alertId: inv.trigger_alert_id,
          actor: action.status === 'approved' ? requestedBy : { kind: 'system' },
          action: action.status === 'approved' ? 'action.approved_by_policy' : 'action.proposed',
          details: { investigationId, actionId: action.id, kind: action.kind, target: action.target_key },
          at: now,
        });
      }
      const approved = inserted.filter((action) => action.status === 'approved');
      if (approved.length > 0) {
        await createExecutions(
          trx,
          approved.map((action) => action.id),
        );
        outbox.push(...approved.map((action) => actMessage(action.id)));
      }
    }
    const status = await refreshStatus(trx, investigationId, now, audit);
    await appendAudit(trx, audit);
    await appendOutbox(trx, outbox);
    return status;
  });
}

/** The one execution row of approved actions: claimed before any remote call (see act worker). */
export async function createExecutions(trx: Db, actionIds: readonly string[]): Promise<void> {
  if (actionIds.length === 0) return;
  await executionsInsert(trx, actionIds).execute();
}

/** `createExecutions`' statement, for a change that writes it as a CTE of its own; `actionIds` not empty. */
export const executionsInsert = (db: Db, actionIds: readonly string[]) =>
  db
    .insertInto('action_executions')
    .values(
      actionIds.map((id) => ({ action_id: id, idempotency_key: idempotencyKeyFor(id), executor: 'pending' })),
    )
    .onConflict((oc) => oc.column('action_id').doNothing());

/**
 * Derives the investigation's status from what is stored (the domain's truth table) and writes
 * it when the transition table allows; audit rows are added to `audit`. Call in a transaction
 * that changed steps or actions.
 */
export async function refreshStatus(
  trx: Db,
  investigationId: string,
  now: Date,
  audit: AuditEntry[],
): Promise<InvestigationStatus | null> {
  // Everything the status derives from in one statement (one snapshot, one trip): the trigger's
  // category (which picks the steps), every logged step (this round's picked below), whether a
  // threat was found, and the actions' statuses.
  const inv = await trx
    .selectFrom('investigations as i')
    .select([
      'i.status',
      'i.scope_round',
      'i.playbook',
      'i.trigger_alert_id',
      'i.untargeted_steps',
      sql<string | null>`(SELECT category FROM alerts WHERE id = i.trigger_alert_id)`.as('category'),
      sql<{ step_key: string; outcome: string; attempt_scope: string }[]>`coalesce((SELECT
        json_agg(json_build_object('step_key', l.step_key, 'outcome', l.outcome, 'attempt_scope', l.attempt_scope))
        FROM step_log l WHERE l.investigation_id = i.id), '[]'::json)`.as('logged'),
      sql<string | null>`(SELECT verdict FROM investigation_entities e WHERE e.investigation_id = i.id
        AND e.verdict IN ('suspicious', 'malicious') LIMIT 1)`.as('threat'),
      sql<string[]>`array(SELECT a.status FROM actions a WHERE a.investigation_id = i.id)`.as(
        'action_statuses',
      ),
    ])
    .where('i.id', '=', investigationId)
    .executeTakeFirst();
  if (inv === undefined) return null;
  const from = inv.status as InvestigationStatus;
  const steps = stepsFor(inv.playbook as Playbook, inv.category);
  const scope = attemptScope(inv.scope_round);
  const logged = inv.logged.filter((step) => step.attempt_scope === scope);
  const ran = logged.filter((step) => steps.some((s) => s.key === step.step_key));
  await settlePolicyRemediationLater(trx, investigationId);
  const to = deriveStatus({
    untargetedSteps: inv.untargeted_steps,
    stepsComplete: ran.length >= steps.length,
    stepCount: ran.length,
    failedSteps: ran.filter((step) => step.outcome === 'failed').length,
    threatsFound: inv.threat !== null && isThreat(inv.threat as Verdict),
    actionStatuses: inv.action_statuses,
  });
  if (to === from || !moveInvestigation(from, to).ok) return from;
  const final = !isOpenInvestigation(to);
  await trx
    .updateTable('investigations')
    .set({ status: to, updated_at: now, ...(final ? { finished_at: now } : {}) })
    .where('id', '=', investigationId)
    .execute();
  audit.push({
    alertId: inv.trigger_alert_id,
    actor: { kind: 'system' },
    action: 'investigation.status_changed',
    details: { investigationId, from, to },
    at: now,
  });
  return to;
}

/** Actions that have not settled yet: a policy's outcome waits for them. */
const UNSETTLED_ACTION_STATUSES = ['pending_approval', 'approved', 'running'] as const;

/**
 * A policy remediation whose every action has settled (done, failed, rejected, cancelled) gets
 * its outcome decided after this transaction commits (policy-remediate worker): the alert is
 * resolved by the policy, or stays open with a finding. Playbook investigations pass through.
 */
export async function settlePolicyRemediationLater(trx: Db, investigationId: string): Promise<void> {
  const settled = await trx
    .selectFrom('investigations as i')
    .select(['i.trigger_alert_id', 'i.policy_id'])
    .where('i.id', '=', investigationId)
    .where('i.purpose', '=', 'policy_remediation')
    .where('i.policy_outcome', 'is', null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('actions as a')
            .select('a.id')
            .whereRef('a.investigation_id', '=', 'i.id')
            .where('a.status', 'in', UNSETTLED_ACTION_STATUSES),
        ),
      ),
    )
    .executeTakeFirst();
  if (settled?.policy_id == null) return;
  await appendOutbox(trx, [
    {
      topic: 'policy_remediate',
      payload: { alertId: settled.trigger_alert_id, policyId: settled.policy_id },
    },
  ]);
}
