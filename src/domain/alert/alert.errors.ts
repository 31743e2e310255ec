/** Stable codes of the refusals the alert core can give. */
export const AlertErrorCode = {
  TransitionNotAllowed: 'alert.transition_not_allowed',
  ClassificationRequired: 'alert.classification_required',
  ClassificationOnlyOnResolve: 'alert.classification_only_on_resolve',
  VersionConflict: 'alert.version_conflict',
  NotFound: 'alert.not_found',
} as const;
export type AlertErrorCode = (typeof AlertErrorCode)[keyof typeof AlertErrorCode];
