/** Stable codes of the refusals approvals can give; chat adapters branch on these. */
export const ApprovalErrorCode = {
  NotFound: 'action.not_found',
  NotApprover: 'action.not_approver',
  RequesterCannotApprove: 'action.requester_cannot_approve',
  /** Not a refusal: the approval is recorded and the action waits for a second, different approver. */
  NeedsSecondApprover: 'action.needs_second_approver',
  AlreadyDecided: 'action.already_decided',
  ReasonRequired: 'action.reason_required',
} as const;
export type ApprovalErrorCode = (typeof ApprovalErrorCode)[keyof typeof ApprovalErrorCode];
