/** Stable codes of the refusals the remediation domain can give; callers branch on these, never on text. */
export const RemediationErrorCode = {
  TransitionNotAllowed: 'remediation.transition_not_allowed',
  NotFound: 'remediation.not_found',
  NoDevices: 'remediation.no_devices',
  DueDateInPast: 'remediation.due_date_in_past',
  DueDateTooFar: 'remediation.due_date_too_far',
  NotYetDue: 'remediation.not_yet_due',
  ExpiryInPast: 'remediation.exception_expiry_in_past',
  ExpiryTooFar: 'remediation.exception_expiry_too_far',
  JustificationRequired: 'remediation.justification_required',
  ExceptionNotExpired: 'remediation.exception_not_expired',
  WrongConnector: 'remediation.wrong_connector',
} as const;
export type RemediationErrorCode = (typeof RemediationErrorCode)[keyof typeof RemediationErrorCode];
