/** Stable codes of the refusals investigations can give. */
export const InvestigationErrorCode = {
  NotFound: 'investigation.not_found',
  TransitionNotAllowed: 'investigation.transition_not_allowed',
  InvalidPlaybook: 'investigation.invalid_playbook',
} as const;
export type InvestigationErrorCode = (typeof InvestigationErrorCode)[keyof typeof InvestigationErrorCode];
