import { type Actor, principalKey } from '../actor.js';
import { fail, ok, type Result } from '../result.js';
import type { ActionStatus } from './action.js';
import { ApprovalErrorCode } from './approval.errors.js';

export const DECISIONS = ['approve', 'reject'] as const;
export type Decision = (typeof DECISIONS)[number];

/** An action as the approval rules see it. */
export interface ActionForDecision {
  readonly status: ActionStatus;
  /** Who asked for it (`principalKey`): the person who started the investigation, or a policy. */
  readonly requestedByKey: string;
  readonly approvalsNeeded: number;
  /** Earlier decisions on it (approvals recorded while a second approver was awaited). */
  readonly decisions: readonly { readonly approverKey: string; readonly decision: Decision }[];
}

/** An accepted decision: the action's next status (unchanged while a second approver is awaited). */
export interface DecisionOutcome {
  readonly status: 'approved' | 'rejected' | 'pending_approval';
  readonly approvals: number;
  readonly approvalsNeeded: number;
}

/**
 * The approval rules (whether the person may decide at all is the command layer's permission
 * check): a pending action only; a rejection gives a reason;
 * the requester cannot approve their own action (but may withdraw it by rejecting); one decision
 * per person; a high-impact action needs two different approvers. People are compared by
 * `principalKey`: one person through two identities (Slack and Teams, a token) is one person. When the first of two approvals
 * is given, the result is `action.needs_second_approver`: the approval is to be recorded
 * (`details.recorded: true`) and the action stays pending.
 */
export function decideOn(
  action: ActionForDecision,
  actor: Actor,
  decision: Decision,
  reason: string | undefined,
): Result<DecisionOutcome> {
  if (action.status !== 'pending_approval') {
    return fail(
      ApprovalErrorCode.AlreadyDecided,
      `This action was already decided: it is ${action.status}.`,
      {
        status: action.status,
      },
    );
  }
  const key = principalKey(actor);
  if (action.decisions.some((earlier) => earlier.approverKey === key)) {
    return fail(
      ApprovalErrorCode.AlreadyDecided,
      'You already decided on this action; a second person must.',
      {
        status: action.status,
      },
    );
  }
  if (decision === 'reject') {
    if (reason === undefined || reason.trim() === '') {
      return fail(ApprovalErrorCode.ReasonRequired, 'Say why you reject this action.');
    }
    return ok({
      status: 'rejected',
      approvals: approvalsOf(action),
      approvalsNeeded: action.approvalsNeeded,
    });
  }
  if (key === action.requestedByKey) {
    return fail(
      ApprovalErrorCode.RequesterCannotApprove,
      'You asked for this action, so someone else must approve it.',
    );
  }
  const approvals = approvalsOf(action) + 1;
  if (approvals < action.approvalsNeeded) {
    return fail(
      ApprovalErrorCode.NeedsSecondApprover,
      `Your approval is recorded; this high-impact action needs ${action.approvalsNeeded - approvals} more approver(s).`,
      { recorded: true, approvals, approvalsNeeded: action.approvalsNeeded },
    );
  }
  return ok({ status: 'approved', approvals, approvalsNeeded: action.approvalsNeeded });
}

const approvalsOf = (action: ActionForDecision): number =>
  action.decisions.filter((earlier) => earlier.decision === 'approve').length;
