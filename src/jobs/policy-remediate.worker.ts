import { z } from 'zod';
import type { Actor, ApprovalPolicy, Clock } from '../domain/index.js';
import type { Logger } from '../logger.js';
import { getAlert } from '../storage/alert.repository.js';
import { appendAudit } from '../storage/audit.repository.js';
import type { DbHandle } from '../storage/db.js';
import { startInvestigation } from '../storage/investigation-plan.repository.js';
import { getPolicy } from '../storage/policy.repository.js';
import {
  findPolicyRemediation,
  policyActor,
  settlePolicyRemediation,
  startPolicyRemediation,
} from '../storage/policy-remediation.repository.js';

export const policyRemediatePayload = z.object({ alertId: z.uuid(), policyId: z.uuid() });

export const policyInvestigatePayload = z.object({
  alertId: z.uuid(),
  policyId: z.uuid(),
  policyName: z.string(),
  playbook: z.string(),
  automation: z.enum(['full', 'semi', 'none']),
});

/**
 * Starts the investigation a matching policy asks for, as the policy (policies act by rule, not
 * by role). An alert already in an open investigation stays in it: starting is idempotent.
 */
export async function startPolicyInvestigation(
  deps: { handle: DbHandle; clock: Clock; logger: Logger },
  payload: z.output<typeof policyInvestigatePayload>,
): Promise<void> {
  const actor: Actor = { kind: 'policy', policyId: payload.policyId, name: payload.policyName };
  const started = await startInvestigation(deps.handle, payload.alertId, actor, deps.clock, {
    playbook: payload.playbook,
    automation: payload.automation,
  });
  if (!started.ok)
    deps.logger.warn({ ...payload, error: started.error }, 'policy could not start its investigation');
}

export interface PolicyRemediateDeps {
  readonly handle: DbHandle;
  readonly clock: Clock;
  readonly logger: Logger;
  /** What makes a step high-impact (VIGIL_PRIVILEGED_USERS, VIGIL_APPROVAL_MAX_TARGETS). */
  readonly approval: ApprovalPolicy;
}

/**
 * An auto-remediating policy on one alert. The first run records the policy's steps as actions
 * requested by the policy (src/storage/policy-remediation.repository.ts): the act worker runs
 * them through the configured executors, and high-impact ones wait for two approvers. The job
 * comes back whenever all of them have settled (see settlePolicyRemediationLater) and decides
 * the outcome: resolved by the policy only when every step succeeded on at least one target,
 * otherwise left open with a finding saying what could not be done and why. Idempotent.
 */
export async function runPolicyRemediation(
  deps: PolicyRemediateDeps,
  payload: z.output<typeof policyRemediatePayload>,
): Promise<void> {
  const { handle, clock, logger } = deps;
  let investigationId = await findPolicyRemediation(handle.db, payload.alertId, payload.policyId);
  if (investigationId === null) {
    const alert = await getAlert(handle.db, payload.alertId);
    if (alert === null) return;
    const policy = await getPolicy(handle.db, payload.policyId);
    const remediate = policy?.actions.find((action) => action.type === 'remediate');
    if (policy === null || remediate?.type !== 'remediate') {
      logger.warn(
        payload,
        'auto-remediating policy was deleted or changed before it ran; alert left for people',
      );
      await appendAudit(handle.db, [
        {
          alertId: alert.id,
          actor: policy === null ? { kind: 'system' } : policyActor(policy),
          action: 'policy.remediation_skipped',
          details: { policyId: payload.policyId, reason: 'the policy no longer remediates: nothing was run' },
          at: clock.now(),
        },
      ]);
      return;
    }
    investigationId = await startPolicyRemediation(
      handle,
      alert,
      policy,
      remediate.steps,
      deps.approval,
      clock,
    );
  }
  const outcome = await settlePolicyRemediation(handle, investigationId, clock);
  if (outcome !== null) logger.info({ ...payload, investigationId, outcome }, 'policy remediation settled');
}
