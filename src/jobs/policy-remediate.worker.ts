import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  type ActionKind,
  type Actor,
  type Clock,
  isActionKind,
  type RemediationStep,
  remediationTargets,
} from '../domain/index.js';
import { type ActionExecutor, PermanentExecutionError } from '../integrations/executors/index.js';
import type { Logger } from '../logger.js';
import { changeAlert, getAlert, type StoredAlert } from '../storage/alert.repository.js';
import { appendAudit } from '../storage/audit.repository.js';
import type { DbHandle } from '../storage/db.js';
import { startInvestigation } from '../storage/investigation-plan.repository.js';
import { getPolicy } from '../storage/policy.repository.js';

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

/**
 * Carries out one remediation step of an auto-remediating policy. The default records the step
 * as executed by the policy (audit only); connecting the investigations engine's executors
 * (src/integrations/executors) means providing a runner that creates approved actions there.
 */
export interface PolicyActionRunner {
  readonly name: string;
  run(
    step: RemediationStep,
    alert: StoredAlert,
    policy: { id: string; name: string },
  ): Promise<Readonly<Record<string, unknown>>>;
}

export const recordOnlyRunner: PolicyActionRunner = {
  name: 'record-only',
  run: async () => ({ recorded: true }),
};

/**
 * Runs each step through the same executors approved investigation actions use (webhook, Graph,
 * Defender), once per target entity of the alert, with an idempotency key derived from the alert,
 * the step and the target, so a re-run after a crash is recognised by the remote system.
 */
export function executorRunner(
  executorFor: (kind: ActionKind) => ActionExecutor,
  timeoutMs: number,
): PolicyActionRunner {
  return {
    name: 'executors',
    async run(step, alert, policy) {
      if (!isActionKind(step.action))
        throw new PermanentExecutionError(`unknown remediation action ${step.action}`);
      const targets = remediationTargets(step.action, alert.entities, step.params ?? {});
      if (targets.length === 0) return { executed: 0, note: `the alert has no target for ${step.action}` };
      const executor = executorFor(step.action);
      for (const { kind, entity } of targets) {
        const key = createHash('sha256')
          .update(`${alert.id}:${step.action}:${kind}:${entity.key}`)
          .digest('hex');
        await executor.execute(
          {
            actionId: `policy-${policy.id}-${key.slice(0, 16)}`,
            kind: step.action,
            target: { kind, key: entity.key, displayName: entity.displayName, count: 1, privileged: false },
            reason: `Automatic remediation by policy ${policy.name}`,
            evidence: { alertId: alert.id, policyId: policy.id },
            idempotencyKey: `vigil-policy-${key.slice(0, 32)}`,
          },
          AbortSignal.timeout(timeoutMs),
        );
      }
      return { executed: targets.length, executor: executor.name };
    },
  };
}

export interface PolicyRemediateDeps {
  readonly handle: DbHandle;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly runner?: PolicyActionRunner;
}

/**
 * Runs the policy's steps in order, each audited once as executed by the policy (a re-run skips
 * the steps already on the trail), then resolves the alert with the policy as actor, so every
 * card says "Resolved by policy <name>".
 */
export async function runPolicyRemediation(
  deps: PolicyRemediateDeps,
  payload: z.output<typeof policyRemediatePayload>,
): Promise<void> {
  const { handle, clock, logger } = deps;
  const runner = deps.runner ?? recordOnlyRunner;
  const alert = await getAlert(handle.db, payload.alertId);
  const policy = await getPolicy(handle.db, payload.policyId);
  if (alert === null) return;
  if (policy === null) {
    logger.warn(payload, 'auto-remediating policy was deleted before it ran; alert left for people');
    return;
  }
  const remediate = policy.actions.find((action) => action.type === 'remediate');
  const steps = remediate?.type === 'remediate' ? remediate.steps : [];
  const actor: Actor = { kind: 'policy', policyId: policy.id, name: policy.name };
  const done = await handle.db
    .selectFrom('audit_log')
    .select('details')
    .where('alert_id', '=', alert.id)
    .where('action', '=', 'policy.action_executed')
    .execute();
  const doneSteps = new Set(done.map((row) => Number((row.details as { step?: number }).step)));
  for (const [index, step] of steps.entries()) {
    if (doneSteps.has(index)) continue;
    let result: Readonly<Record<string, unknown>>;
    try {
      result = await runner.run(step, alert, policy);
    } catch (error) {
      if (!(error instanceof PermanentExecutionError)) throw error;
      // Retrying cannot help: the alert stays open for people, and the trail says why.
      await appendAudit(handle.db, [
        {
          alertId: alert.id,
          actor,
          action: 'policy.action_failed',
          details: { policyId: policy.id, step: index, action: step.action, reason: error.message },
          at: clock.now(),
        },
      ]);
      return;
    }
    await appendAudit(handle.db, [
      {
        alertId: alert.id,
        actor,
        action: 'policy.action_executed',
        details: {
          policyId: policy.id,
          policyVersion: policy.version,
          step: index,
          action: step.action,
          params: step.params ?? {},
          executor: runner.name,
          result,
        },
        at: clock.now(),
      },
    ]);
  }
  const resolved = await changeAlert(handle, alert.id, actor, clock, {
    type: 'status',
    request: {
      action: 'resolve',
      comment: `Automatically remediated by policy ${policy.name}: ${steps.map((s) => s.action).join(', ')}`,
    },
  });
  if (!resolved.ok)
    logger.warn({ alertId: alert.id, error: resolved.error }, 'policy could not resolve the alert');
}
