import {
  ACTION_LABELS,
  type ActionKind,
  type ActionStatus,
  type Actor,
  type ApprovalPolicy,
  type AuditEntry,
  actorKey,
  attemptScope,
  type Clock,
  type Policy,
  planPolicyRemediation,
  policyRemediationOutcome,
  type RemediationStep,
  type UnmetStep,
} from '../domain/index.js';
import { json } from './alert.mapper.js';
import { changeAlertIn, type StoredAlert } from './alert.repository.js';
import { appendAudit } from './audit.repository.js';
import type { Db, DbHandle } from './db.js';
import { actMessage, createExecutions, refreshStatus } from './investigation.repository.js';
import { scopeFromAlert } from './investigation-plan.repository.js';
import { appendOutbox } from './outbox.repository.js';

/** What a policy remediation keeps of its policy (in the investigation's playbook column). */
interface PolicySnapshot {
  readonly name: string;
  readonly steps: Record<string, never>;
  readonly policy: {
    readonly id: string;
    readonly name: string;
    readonly version: number;
    readonly steps: readonly RemediationStep[];
    readonly untargeted: readonly UnmetStep[];
  };
}

export const policyActor = (policy: { id: string; name: string }): Actor => ({
  kind: 'policy',
  policyId: policy.id,
  name: policy.name,
});

/** The policy remediation of one alert by one policy, if it was started. */
export async function findPolicyRemediation(
  db: Db,
  alertId: string,
  policyId: string,
): Promise<string | null> {
  const row = await db
    .selectFrom('investigations')
    .select('id')
    .where('trigger_alert_id', '=', alertId)
    .where('policy_id', '=', policyId)
    .where('purpose', '=', 'policy_remediation')
    .executeTakeFirst();
  return row?.id ?? null;
}

/**
 * Starts an auto-remediating policy's work on an alert, once (one per alert and policy): in one
 * transaction, an investigation of purpose `policy_remediation` holding the alert and its
 * entities, one action per step and target requested by the policy (approved at once, or waiting
 * for two approvers when high-impact), their executions and `act` outbox rows, and audit rows.
 * Steps without a target are counted; the outcome is decided once every action has settled.
 */
export async function startPolicyRemediation(
  handle: DbHandle,
  alert: StoredAlert,
  policy: Policy,
  steps: readonly RemediationStep[],
  approval: ApprovalPolicy,
  clock: Clock,
): Promise<string> {
  const plan = planPolicyRemediation(steps, alert.entities, approval);
  const actor = policyActor(policy);
  return handle.db.transaction().execute(async (trx) => {
    const now = clock.now();
    const snapshot: PolicySnapshot = {
      name: `Policy: ${policy.name}`,
      steps: {},
      policy: {
        id: policy.id,
        name: policy.name,
        version: policy.version,
        steps,
        untargeted: plan.untargeted,
      },
    };
    const created = await trx
      .insertInto('investigations')
      .values({
        trigger_alert_id: alert.id,
        purpose: 'policy_remediation',
        policy_id: policy.id,
        status: 'running',
        playbook: json(snapshot),
        automation: 'full',
        untargeted_steps: plan.untargeted.length,
        started_by: json(actor),
        started_by_key: actorKey(actor),
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc.columns(['trigger_alert_id', 'policy_id']).where('purpose', '=', 'policy_remediation').doNothing(),
      )
      .returning('id')
      .executeTakeFirst();
    // Started already (a retried job): the actions exist, nothing to do twice.
    if (created === undefined) return (await findPolicyRemediation(trx, alert.id, policy.id)) ?? '';
    await trx
      .insertInto('investigation_alerts')
      .values({ investigation_id: created.id, alert_id: alert.id, reason: 'trigger', joined_at: now })
      .execute();
    await scopeFromAlert(trx, created.id, alert.id);
    const inserted =
      plan.actions.length === 0
        ? []
        : await trx
            .insertInto('actions')
            .values(
              plan.actions.map((action) => ({
                investigation_id: created.id,
                kind: action.kind,
                target_kind: action.target.kind,
                target_key: action.target.key,
                target_display: action.target.displayName,
                target_count: action.target.count,
                privileged: action.target.privileged,
                approvals_needed: action.approvalsNeeded,
                reason: `Step ${action.step + 1} of policy ${policy.name}: ${ACTION_LABELS[action.kind]}`,
                evidence: json({ policyId: policy.id, policyVersion: policy.version, step: action.step }),
                status: action.status,
                requested_by: json(actor),
                requested_by_key: actorKey(actor),
                created_at: now,
                updated_at: now,
              })),
            )
            .returning(['id', 'kind', 'target_key', 'status'])
            .execute();
    const audit: AuditEntry[] = [
      {
        alertId: alert.id,
        actor,
        action: 'policy.remediation_started',
        details: {
          policyId: policy.id,
          policyVersion: policy.version,
          investigationId: created.id,
          steps: steps.map((step) => step.action),
          actions: inserted.length,
          untargeted: plan.untargeted,
        },
        at: now,
      },
      ...inserted.map((action) => ({
        alertId: alert.id,
        actor,
        action: action.status === 'approved' ? 'action.approved_by_policy' : 'action.proposed',
        details: {
          investigationId: created.id,
          actionId: action.id,
          kind: action.kind,
          target: action.target_key,
        },
        at: now,
      })),
    ];
    const approved = inserted.filter((action) => action.status === 'approved').map((action) => action.id);
    await createExecutions(trx, approved);
    await appendOutbox(trx, approved.map(actMessage));
    await refreshStatus(trx, created.id, now, audit);
    await appendAudit(trx, audit);
    return created.id;
  });
}

/**
 * Decides a policy remediation's outcome once every action has settled, once: when every step
 * succeeded on at least one target the alert is resolved by the policy ("Resolved by policy X");
 * otherwise it stays open, and a finding per step that was not done, and one trail entry, say
 * what could not be done and why. Takes the investigation's lock, then the alert's (the order of
 * approvals and of the card triggers). Returns the outcome, or null while actions still wait.
 */
export async function settlePolicyRemediation(
  handle: DbHandle,
  investigationId: string,
  clock: Clock,
): Promise<'resolved' | 'incomplete' | null> {
  return handle.db.transaction().execute(async (trx) => {
    const now = clock.now();
    const inv = await trx
      .selectFrom('investigations')
      .select(['id', 'trigger_alert_id', 'playbook', 'policy_outcome'])
      .where('id', '=', investigationId)
      .where('purpose', '=', 'policy_remediation')
      .forUpdate()
      .executeTakeFirst();
    if (inv === undefined) return null;
    if (inv.policy_outcome !== null) return inv.policy_outcome as 'resolved' | 'incomplete';
    const { policy } = inv.playbook as PolicySnapshot;
    const actions = await trx
      .selectFrom('actions')
      .select(['id', 'kind', 'target_display', 'status', 'error', 'evidence'])
      .where('investigation_id', '=', investigationId)
      .execute();
    const unsettled: readonly string[] = ['pending_approval', 'approved', 'running'];
    if (actions.some((action) => unsettled.includes(action.status))) return null;
    const rejections = await trx
      .selectFrom('action_decisions')
      .select(['action_id', 'reason'])
      .where('action_id', 'in', actions.length === 0 ? [investigationId] : actions.map((action) => action.id))
      .where('decision', '=', 'reject')
      .execute();
    const outcome = policyRemediationOutcome(
      policy.steps.length,
      actions.map((action) => ({
        step: Number(action.evidence.step),
        kind: action.kind as ActionKind,
        targetDisplay: action.target_display,
        status: action.status as ActionStatus,
        error: action.error,
        rejection: rejections.find((row) => row.action_id === action.id)?.reason ?? null,
      })),
      policy.untargeted,
    );
    const actor = policyActor(policy);
    const result = outcome.complete ? 'resolved' : 'incomplete';
    await trx
      .updateTable('investigations')
      .set({ policy_outcome: result, updated_at: now })
      .where('id', '=', investigationId)
      .execute();
    if (outcome.complete) {
      await appendAudit(trx, [
        {
          alertId: inv.trigger_alert_id,
          actor,
          action: 'policy.remediation_complete',
          details: { policyId: policy.id, investigationId },
          at: now,
        },
      ]);
      // A person may have resolved it meanwhile: then there is nothing to change (no refusal either).
      await changeAlertIn(trx, inv.trigger_alert_id, actor, now, {
        type: 'status',
        request: {
          action: 'resolve',
          comment: `Automatically remediated by policy ${policy.name}: ${policy.steps.map((s) => s.action).join(', ')}`,
        },
      });
      return result;
    }
    await recordUnmet(trx, investigationId, inv.trigger_alert_id, actor, policy.id, outcome.unmet, now);
    return result;
  });
}

/** A finding per step not done and one trail entry on the alert, which stays open for people. */
async function recordUnmet(
  trx: Db,
  investigationId: string,
  alertId: string,
  actor: Actor,
  policyId: string,
  unmet: readonly UnmetStep[],
  now: Date,
): Promise<void> {
  await trx
    .insertInto('findings')
    .values(
      unmet.map((step) => ({
        investigation_id: investigationId,
        step_key: 'policy-remediation',
        attempt_scope: attemptScope(1),
        key: `step-${step.step}`,
        title: `Not done: step ${step.step + 1}, ${ACTION_LABELS[step.kind]}: ${step.reason}`.slice(0, 2000),
        verdict: 'unknown',
        entity_kind: null,
        entity_key: null,
        details: json({ step: step.step, action: step.kind, reason: step.reason }),
      })),
    )
    .onConflict((oc) => oc.columns(['investigation_id', 'step_key', 'attempt_scope', 'key']).doNothing())
    .execute();
  await appendAudit(trx, [
    {
      alertId,
      actor,
      action: 'policy.remediation_incomplete',
      details: {
        policyId,
        investigationId,
        unmet: unmet.map((step) => ({ step: step.step, action: step.kind, reason: step.reason })),
      },
      at: now,
    },
  ]);
}
