import type { AlertEntity } from '../alert/alert.js';
import {
  ACTION_LABELS,
  type ActionKind,
  type ActionStatus,
  type ActionTarget,
  type ApprovalPolicy,
  isHighImpact,
  targetOf,
} from '../approval/action.js';
import type { RemediationStep } from './policy.js';
import { remediationTargets } from './remediation-targets.js';

/** One action an auto-remediating policy asks for: one step on one target of the alert. */
export interface PolicyActionPlan {
  /** The step's index in the policy (0-based). */
  readonly step: number;
  readonly kind: ActionKind;
  readonly target: ActionTarget;
  /** Two for a high-impact step: the policy asks, two people must agree. */
  readonly approvalsNeeded: 1 | 2;
  readonly status: 'approved' | 'pending_approval';
}

/** A step that could not be done, and why, for the finding and the alert's trail. */
export interface UnmetStep {
  readonly step: number;
  readonly kind: ActionKind;
  readonly reason: string;
}

export interface PolicyRemediationPlan {
  readonly actions: readonly PolicyActionPlan[];
  /** Steps with no target on the alert: nothing to run for them. */
  readonly untargeted: readonly UnmetStep[];
}

/**
 * What an auto-remediating policy does on one alert: each step becomes one action per target
 * entity of the alert. Policies act by rule, so an action runs at once, except a high-impact one
 * (a privileged user, a target reaching more than `maxTargets` things, or a step reaching more
 * than `maxTargets` targets), which waits for two approvers as any high-impact action does.
 */
export function planPolicyRemediation(
  steps: readonly RemediationStep[],
  entities: readonly AlertEntity[],
  approval: ApprovalPolicy,
): PolicyRemediationPlan {
  const actions: PolicyActionPlan[] = [];
  const untargeted: UnmetStep[] = [];
  const seen = new Set<string>();
  for (const [step, { action: kind, params }] of steps.entries()) {
    const targets = remediationTargets(kind, entities, params ?? {});
    if (targets.length === 0) {
      untargeted.push({ step, kind, reason: noTargetReason(kind, params ?? {}) });
      continue;
    }
    const wideStep = targets.length > approval.maxTargets;
    for (const { kind: targetKind, entity } of targets) {
      // The same action on the same target twice (two steps alike) is one action.
      const id = `${kind}\u0000${entity.key}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const target = targetOf({
        kind: targetKind,
        key: entity.key,
        displayName: entity.displayName,
        attributes: { ...entity.attributes, roles: entity.roles },
      });
      const highImpact = wideStep || isHighImpact({ target }, approval);
      actions.push({
        step,
        kind,
        target,
        approvalsNeeded: highImpact ? 2 : 1,
        status: highImpact ? 'pending_approval' : 'approved',
      });
    }
  }
  return { actions, untargeted };
}

const noTargetReason = (kind: ActionKind, params: Readonly<Record<string, unknown>>): string =>
  typeof params.target === 'string'
    ? `no target found: the alert has no entity ${params.target} that ${ACTION_LABELS[kind]} acts on`
    : `no target found: the alert has no entity that ${ACTION_LABELS[kind]} acts on`;

/** An action of a policy remediation once settled, as the outcome sees it. */
export interface SettledPolicyAction {
  readonly step: number;
  readonly kind: ActionKind;
  readonly targetDisplay: string;
  readonly status: ActionStatus;
  readonly error: string | null;
  /** Why it was rejected, when it was. */
  readonly rejection: string | null;
}

export type PolicyRemediationOutcome =
  | { readonly complete: true }
  | { readonly complete: false; readonly unmet: readonly UnmetStep[] };

/**
 * The policy resolves the alert only when every step succeeded on at least one target; otherwise
 * each step that did not says why (no target, no executor, the executor's refusal, a rejection).
 */
export function policyRemediationOutcome(
  stepCount: number,
  actions: readonly SettledPolicyAction[],
  untargeted: readonly UnmetStep[],
): PolicyRemediationOutcome {
  const unmet: UnmetStep[] = [];
  for (let step = 0; step < stepCount; step++) {
    const mine = actions.filter((action) => action.step === step);
    if (mine.some((action) => action.status === 'done')) continue;
    const missing = untargeted.find((entry) => entry.step === step);
    if (missing !== undefined) {
      unmet.push(missing);
      continue;
    }
    const first = mine[0];
    if (first === undefined) continue;
    unmet.push({
      step,
      kind: first.kind,
      reason: mine.map((action) => `${action.targetDisplay}: ${whyNotDone(action)}`).join('; '),
    });
  }
  return unmet.length === 0 ? { complete: true } : { complete: false, unmet };
}

function whyNotDone(action: SettledPolicyAction): string {
  switch (action.status) {
    case 'failed':
      return `failed: ${action.error ?? 'no reason given'}`;
    case 'rejected':
      return `rejected: ${action.rejection ?? 'no reason given'}`;
    case 'cancelled':
      return action.error ?? 'cancelled';
    default:
      return action.status.replaceAll('_', ' ');
  }
}
