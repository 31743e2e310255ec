import {
  type Actor,
  type AuditEntry,
  type Clock,
  fail,
  InvestigationErrorCode,
  type InvestigationStatus,
  ok,
  type Result,
  type Role,
  terminate,
} from '../domain/index.js';
import { appendAudit } from './audit.repository.js';
import type { DbHandle } from './db.js';
import { retryOnDeadlock } from './deadlock.js';
import { settlePolicyRemediationLater } from './investigation.repository.js';

/** Why a cancelled action never ran, on its execution row and in the trail. */
const CANCELLED = 'cancelled: the investigation was terminated';

/**
 * Terminates an investigation: in one transaction, the investigation becomes `terminated`, its
 * actions that have not started (waiting for approval, or approved and not yet claimed) are
 * cancelled and their executions closed so no worker runs them, and an audit row names who did
 * it. An action already running finishes (a remote call cannot be taken back). The cards of the
 * linked alerts refresh through the database triggers on these rows. Idempotent: terminating a
 * terminated investigation changes nothing.
 *
 * The act worker's claim locks execution, action, then (sometimes) investigation, the reverse of
 * this order: when the two deadlock, Postgres aborts one; a claim retries as a job, this retries here.
 */
export async function terminateInvestigation(
  handle: DbHandle,
  investigationId: string,
  actor: Actor,
  role: Role,
  clock: Clock,
): Promise<Result<{ readonly changed: boolean; readonly cancelledActions: readonly string[] }>> {
  if (!/^[0-9a-f-]{36}$/i.test(investigationId)) {
    return fail(InvestigationErrorCode.NotFound, `No investigation ${investigationId}.`);
  }
  return retryOnDeadlock(() => terminateOnce(handle, investigationId, actor, role, clock));
}

async function terminateOnce(
  handle: DbHandle,
  investigationId: string,
  actor: Actor,
  role: Role,
  clock: Clock,
): Promise<Result<{ readonly changed: boolean; readonly cancelledActions: readonly string[] }>> {
  return handle.db.transaction().execute(async (trx) => {
    const now = clock.now();
    // Approvals take this row's lock first too (see decideAction): a decision and a termination
    // never interleave.
    const inv = await trx
      .selectFrom('investigations')
      .select(['status', 'trigger_alert_id'])
      .where('id', '=', investigationId)
      .forUpdate()
      .executeTakeFirst();
    if (inv === undefined)
      return fail(InvestigationErrorCode.NotFound, `No investigation ${investigationId}.`);
    const from = inv.status as InvestigationStatus;
    const allowed = terminate(from, role);
    if (!allowed.ok) {
      await appendAudit(trx, [
        {
          alertId: inv.trigger_alert_id,
          actor,
          action: 'investigation.terminate_refused',
          details: { investigationId, code: allowed.error.code, reason: allowed.error.message, role },
          at: now,
        },
      ]);
      return allowed;
    }
    if (!allowed.value.changed) return ok({ changed: false, cancelledActions: [] });

    // Approved actions not yet claimed: close their execution so the act worker finds it finished.
    const closed = await trx
      .updateTable('action_executions')
      .set({ status: 'failed', error: CANCELLED, finished_at: now, claimed_until: null })
      .where('status', '=', 'pending')
      .where('action_id', 'in', (eb) =>
        eb
          .selectFrom('actions')
          .select('id')
          .where('investigation_id', '=', investigationId)
          .where('status', '=', 'approved'),
      )
      .returning('action_id')
      .execute();
    const closedIds = closed.map((row) => row.action_id);
    const cancelled = await trx
      .updateTable('actions')
      .set({ status: 'cancelled', error: CANCELLED, updated_at: now })
      .where('investigation_id', '=', investigationId)
      .where((eb) =>
        // Approved ones only where their execution was closed above, never one a worker claimed.
        closedIds.length === 0
          ? eb('status', '=', 'pending_approval')
          : eb.or([eb('status', '=', 'pending_approval'), eb('id', 'in', closedIds)]),
      )
      .returning(['id', 'kind', 'target_key'])
      .execute();
    await trx
      .updateTable('investigations')
      .set({ status: 'terminated', updated_at: now, finished_at: now })
      .where('id', '=', investigationId)
      .execute();
    const audit: AuditEntry[] = [
      {
        alertId: inv.trigger_alert_id,
        actor,
        action: 'investigation.terminated',
        details: { investigationId, from, to: 'terminated', cancelledActions: cancelled.length },
        at: now,
      },
      ...cancelled.map((action) => ({
        alertId: inv.trigger_alert_id,
        actor,
        action: 'action.cancelled',
        details: { investigationId, actionId: action.id, kind: action.kind, target: action.target_key },
        at: now,
      })),
    ];
    await appendAudit(trx, audit);
    await settlePolicyRemediationLater(trx, investigationId);
    return ok({ changed: true, cancelledActions: cancelled.map((action) => action.id) });
  });
}
