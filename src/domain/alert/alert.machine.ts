import { type Actor, actorKey } from '../actor.js';
import { fail, ok, type Result } from '../result.js';
import { AlertErrorCode } from './alert.errors.js';
import {
  type Alert,
  type AlertStatus,
  type Classification,
  type Determination,
  STATUS_LABELS,
} from './alert.js';

/** What a person (or a source, or a policy) can ask of an alert's status. */
export type StatusAction = 'start_progress' | 'resolve' | 'reopen';

/**
 * The lifecycle as data: for each status, the actions allowed and where they lead.
 * Reopen is the only way back from Resolved; an open alert can be resolved straight from New.
 */
export const ALERT_TRANSITIONS = {
  new: { start_progress: 'in_progress', resolve: 'resolved' },
  in_progress: { resolve: 'resolved' },
  resolved: { reopen: 'new' },
} as const satisfies Record<AlertStatus, Partial<Record<StatusAction, AlertStatus>>>;

/** The status an action leads to, wherever it starts. */
export const ACTION_TARGET: Readonly<Record<StatusAction, AlertStatus>> = {
  start_progress: 'in_progress',
  resolve: 'resolved',
  reopen: 'new',
};

/** The status an API caller names, as the action that reaches it. */
export const actionForStatus = (status: AlertStatus): StatusAction =>
  status === 'in_progress' ? 'start_progress' : status === 'resolved' ? 'resolve' : 'reopen';

export interface StatusChangeRequest {
  readonly action: StatusAction;
  readonly classification?: Classification | undefined;
  /** What it turned out to be (Graph's words); only when resolving. */
  readonly determination?: Determination | undefined;
  readonly comment?: string | undefined;
  /** The version the actor saw (a card, a page); a different stored version means they acted on stale state. */
  readonly expectedVersion?: number | undefined;
}

/** What an accepted change did: `changed: false` when the alert already was where it was asked to go. */
export interface StatusChange {
  readonly changed: boolean;
  readonly alert: Alert;
  readonly from: AlertStatus;
  readonly to: AlertStatus;
}

/**
 * Decides a status change. Asking for the state the alert is already in is accepted and changes
 * nothing (double clicks and retried deliveries are harmless); acting on a stale version is a
 * conflict; a transition outside the table is refused. Only people must classify on resolve:
 * a source or policy that resolves an alert knows nothing about true or false positives.
 */
export function changeStatus(
  alert: Alert,
  request: StatusChangeRequest,
  actor: Actor,
  now: Date,
): Result<StatusChange> {
  const to = ACTION_TARGET[request.action];
  const from = alert.status;
  if (from === to) {
    return ok({ changed: false, alert, from, to });
  }
  if (request.expectedVersion !== undefined && request.expectedVersion !== alert.version) {
    return fail(
      AlertErrorCode.VersionConflict,
      `The alert changed since you saw it: it is now ${STATUS_LABELS[from]}. Nothing was changed.`,
      { currentStatus: from, currentVersion: alert.version, expectedVersion: request.expectedVersion },
    );
  }
  const allowed: Partial<Record<StatusAction, AlertStatus>> = ALERT_TRANSITIONS[from];
  if (allowed[request.action] === undefined) {
    return fail(
      AlertErrorCode.TransitionNotAllowed,
      `An alert that is ${STATUS_LABELS[from]} cannot move to ${STATUS_LABELS[to]}.`,
      { from, to },
    );
  }
  if ((request.classification !== undefined || request.determination !== undefined) && to !== 'resolved') {
    return fail(
      AlertErrorCode.ClassificationOnlyOnResolve,
      'A classification or determination is given only when resolving.',
    );
  }
  if (to === 'resolved' && request.classification === undefined && actor.kind === 'user') {
    return fail(
      AlertErrorCode.ClassificationRequired,
      'Resolving needs a classification: true_positive, false_positive or informational_expected_activity.',
    );
  }
  // Classification and comment describe a resolution; a comment on any other change lives in the audit trail.
  const resolving = to === 'resolved';
  return ok({
    changed: true,
    from,
    to,
    alert: {
      ...alert,
      status: to,
      classification: resolving ? (request.classification ?? null) : null,
      // A determination the source or an earlier resolution gave stays unless one is chosen now.
      determination: resolving ? (request.determination ?? alert.determination) : alert.determination,
      resolutionComment: resolving ? (request.comment ?? null) : null,
      statusChangedBy: actor,
      statusChangedAt: now,
      version: alert.version + 1,
      updatedAt: now,
    },
  });
}

/** Assigns an open alert (Assign to me). Assigning the current assignee again changes nothing. */
export function assignAlert(
  alert: Alert,
  assignee: Actor,
  now: Date,
  expectedVersion?: number,
): Result<{ readonly changed: boolean; readonly alert: Alert }> {
  if (alert.status === 'resolved') {
    return fail(AlertErrorCode.TransitionNotAllowed, 'A resolved alert cannot be assigned; reopen it first.');
  }
  if (alert.assignee !== null && actorKey(alert.assignee) === actorKey(assignee)) {
    return ok({ changed: false, alert });
  }
  if (expectedVersion !== undefined && expectedVersion !== alert.version) {
    return fail(AlertErrorCode.VersionConflict, 'The alert changed since you saw it. Nothing was changed.', {
      currentStatus: alert.status,
      currentVersion: alert.version,
      expectedVersion,
    });
  }
  return ok({ changed: true, alert: { ...alert, assignee, version: alert.version + 1, updatedAt: now } });
}
