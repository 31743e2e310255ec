import { type Actor, systemActor } from '../actor.js';
import { fail, ok, type Result } from '../result.js';
import { RemediationErrorCode } from './remediation.errors.js';
import {
  EXCEPTION_REASON_LABELS,
  type ExceptionReason,
  REMEDIATION_STATUS_LABELS,
  type Remediation,
  type RemediationStatus,
  type TicketConnector,
  ticketingActor,
} from './remediation.js';

/** What can happen to a remediation. */
export type RemediationCommand =
  | 'start'
  | 'complete'
  | 'mark_overdue'
  | 'file_exception'
  | 'exception_expired';

/**
 * The lifecycle as data. Completed is final. Overdue work can still be completed or excepted but
 * does not go back to In progress: it stays visibly late until it is done. An exception lasts
 * until it expires (back to Open) or the work is done anyway.
 */
export const REMEDIATION_TRANSITIONS = {
  open: { start: 'in_progress', complete: 'completed', mark_overdue: 'overdue', file_exception: 'exception' },
  in_progress: { complete: 'completed', mark_overdue: 'overdue', file_exception: 'exception' },
  overdue: { complete: 'completed', file_exception: 'exception' },
  exception: { complete: 'completed', exception_expired: 'open' },
  completed: {},
} as const satisfies Record<RemediationStatus, Partial<Record<RemediationCommand, RemediationStatus>>>;

/** Where each command leads, wherever it starts. */
export const COMMAND_TARGET: Readonly<Record<RemediationCommand, RemediationStatus>> = {
  start: 'in_progress',
  complete: 'completed',
  mark_overdue: 'overdue',
  file_exception: 'exception',
  exception_expired: 'open',
};

/** What a change means, for the audit trail and the people told about it. */
export interface RemediationEvent {
  /** A stable dotted name: `remediation.completed`, `remediation.exception_expired`... */
  readonly type: `remediation.${RemediationCommand | 'created'}`;
  readonly remediationId: string;
  readonly actor: Actor;
  readonly at: Date;
  /** A sentence for the requester and the channel. */
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
}

/** An accepted command: `changed: false` when the remediation already was where it was asked to go. */
export interface RemediationChange {
  readonly changed: boolean;
  readonly from: RemediationStatus;
  readonly to: RemediationStatus;
  readonly remediation: Remediation;
  readonly event: RemediationEvent | null;
}

const label = (status: RemediationStatus): string => REMEDIATION_STATUS_LABELS[status];

function apply(
  remediation: Remediation,
  command: RemediationCommand,
  actor: Actor,
  now: Date,
  patch: Partial<Remediation>,
  message: string,
  details: Readonly<Record<string, unknown>> = {},
): Result<RemediationChange> {
  const from = remediation.status;
  const to = COMMAND_TARGET[command];
  // Asking for the state it is in is accepted and changes nothing: retried jobs and double clicks are harmless.
  if (from === to) return ok({ changed: false, from, to, remediation, event: null });
  const allowed: Partial<Record<RemediationCommand, RemediationStatus>> = REMEDIATION_TRANSITIONS[from];
  if (allowed[command] === undefined) {
    return fail(
      RemediationErrorCode.TransitionNotAllowed,
      `A remediation that is ${label(from)} cannot become ${label(to)}.`,
      { from, to, command },
    );
  }
  const next: Remediation = {
    ...remediation,
    ...patch,
    status: to,
    version: remediation.version + 1,
    updatedAt: now,
  };
  return ok({
    changed: true,
    from,
    to,
    remediation: next,
    event: {
      type: `remediation.${command}`,
      remediationId: remediation.id,
      actor,
      at: now,
      message,
      details: { from, to, ...details },
    },
  });
}

/** The IT owner (or their ticketing system) started on it. */
export function markInProgress(remediation: Remediation, actor: Actor, now: Date): Result<RemediationChange> {
  return apply(remediation, 'start', actor, now, {}, 'Work on the remediation has started.');
}

/**
 * Done: by a person (Mark as completed, with an optional comment on how) or by the ticketing
 * system, whose actor is `ticketingActor(connector)`. An exception in force ends with it.
 */
export function markCompleted(
  remediation: Remediation,
  actor: Actor,
  now: Date,
  comment?: string,
): Result<RemediationChange> {
  const completionComment = comment?.trim() || null;
  return apply(
    remediation,
    'complete',
    actor,
    now,
    { completedAt: now, completedBy: actor, completionComment, exception: null },
    actor.kind === 'source' && actor.source.startsWith('ticketing:')
      ? 'The remediation ticket was closed; the remediation is completed.'
      : 'The remediation was marked as completed.',
    completionComment === null ? {} : { comment: completionComment },
  );
}

/**
 * A ticketing system reports its ticket started or done. Only the system that tracks the
 * remediation may move it: a ServiceNow update cannot complete a Jira or built-in remediation,
 * nor one whose ticket is not recorded yet.
 */
export function applyTicketStatus(
  remediation: Remediation,
  connector: TicketConnector,
  status: 'in_progress' | 'done',
  now: Date,
): Result<RemediationChange> {
  if (remediation.connector !== connector) {
    return fail(
      RemediationErrorCode.WrongConnector,
      `This remediation is tracked by ${remediation.connector ?? 'no ticketing system yet'}, not ${connector}; the update was refused.`,
      { connector: remediation.connector, sender: connector },
    );
  }
  const actor = ticketingActor(connector);
  return status === 'done' ? markCompleted(remediation, actor, now) : markInProgress(remediation, actor, now);
}

/** The clock says the due date has passed and the work is not done. */
export function markOverdue(remediation: Remediation, now: Date): Result<RemediationChange> {
  if (now.getTime() < remediation.dueAt.getTime()) {
    return fail(RemediationErrorCode.NotYetDue, 'The remediation is not due yet.', {
      dueAt: remediation.dueAt.toISOString(),
    });
  }
  return apply(
    remediation,
    'mark_overdue',
    systemActor,
    now,
    {},
    `The remediation was due ${remediation.dueAt.toISOString()} and is not completed: it is overdue.`,
    { dueAt: remediation.dueAt.toISOString() },
  );
}

export interface ExceptionRequest {
  readonly reason: ExceptionReason;
  readonly justification: string;
  readonly expiresAt: Date;
}

/**
 * Files an exception. The expiry must already have been checked against the clock
 * (`checkExceptionExpiry`); a justification is always required, as the exception is evidence.
 * Filing again while one is in force replaces it (a renewed grace period).
 */
export function fileException(
  remediation: Remediation,
  request: ExceptionRequest,
  actor: Actor,
  now: Date,
): Result<RemediationChange> {
  const justification = request.justification.trim();
  if (justification === '') {
    return fail(RemediationErrorCode.JustificationRequired, 'An exception needs a justification.');
  }
  if (request.expiresAt.getTime() <= now.getTime()) {
    return fail(RemediationErrorCode.ExpiryInPast, 'The exception must expire in the future.');
  }
  const exception = {
    reason: request.reason,
    justification,
    expiresAt: request.expiresAt,
    filedBy: actor,
    filedAt: now,
  };
  const message = `Exception filed (${EXCEPTION_REASON_LABELS[request.reason]}) until ${request.expiresAt.toISOString()}.`;
  const details = { reason: request.reason, justification, expiresAt: request.expiresAt.toISOString() };
  if (remediation.status === 'exception') {
    return ok({
      changed: true,
      from: 'exception',
      to: 'exception',
      remediation: { ...remediation, exception, version: remediation.version + 1, updatedAt: now },
      event: {
        type: 'remediation.file_exception',
        remediationId: remediation.id,
        actor,
        at: now,
        message,
        details: { from: 'exception', to: 'exception', renewed: true, ...details },
      },
    });
  }
  return apply(remediation, 'file_exception', actor, now, { exception }, message, details);
}

/**
 * The exception's expiry has come: the remediation is open again, and the message says why.
 * A remediation whose exception was renewed meanwhile is not due to reopen yet.
 */
export function exceptionExpired(remediation: Remediation, now: Date): Result<RemediationChange> {
  const exception = remediation.exception;
  if (remediation.status !== 'exception' || exception === null) {
    return ok({ changed: false, from: remediation.status, to: remediation.status, remediation, event: null });
  }
  if (now.getTime() < exception.expiresAt.getTime()) {
    return fail(RemediationErrorCode.ExceptionNotExpired, 'The exception has not expired yet.', {
      expiresAt: exception.expiresAt.toISOString(),
    });
  }
  return apply(
    remediation,
    'exception_expired',
    systemActor,
    now,
    { exception: null },
    `The exception (${EXCEPTION_REASON_LABELS[exception.reason]}) expired on ` +
      `${exception.expiresAt.toISOString()}; the remediation is open again.`,
    { reason: exception.reason, expiredAt: exception.expiresAt.toISOString() },
  );
}
