import type { Clock } from '../clock.js';
import { fail, ok, type Result } from '../result.js';
import { RemediationErrorCode } from './remediation.errors.js';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/** A due date must leave IT at least this long, so a ticket is never born overdue. */
export const MIN_DUE_LEAD_MS = HOUR;
/** Further out than this is a plan, not a remediation request. */
export const MAX_DUE_LEAD_MS = 366 * DAY;
/** The reminder goes out this long before the due date. */
export const REMINDER_LEAD_MS = DAY;
/** An exception must be reviewed at least yearly; a grace period is not forever. */
export const MAX_EXCEPTION_MS = 366 * DAY;

/** Checks a requested due date against now. */
export function checkDueDate(dueAt: Date, clock: Clock): Result<Date> {
  const now = clock.now().getTime();
  if (dueAt.getTime() < now + MIN_DUE_LEAD_MS) {
    return fail(
      RemediationErrorCode.DueDateInPast,
      'The due date must be at least an hour from now; pick a later date.',
      { dueAt: dueAt.toISOString() },
    );
  }
  if (dueAt.getTime() > now + MAX_DUE_LEAD_MS) {
    return fail(RemediationErrorCode.DueDateTooFar, 'The due date must be within a year from now.', {
      dueAt: dueAt.toISOString(),
    });
  }
  return ok(dueAt);
}

/** Checks an exception's expiry against now. */
export function checkExceptionExpiry(expiresAt: Date, clock: Clock): Result<Date> {
  const now = clock.now().getTime();
  if (expiresAt.getTime() <= now) {
    return fail(RemediationErrorCode.ExpiryInPast, 'The exception must expire in the future.', {
      expiresAt: expiresAt.toISOString(),
    });
  }
  if (expiresAt.getTime() > now + MAX_EXCEPTION_MS) {
    return fail(
      RemediationErrorCode.ExpiryTooFar,
      'An exception may last at most a year; file a new one when it expires.',
      { expiresAt: expiresAt.toISOString() },
    );
  }
  return ok(expiresAt);
}

/**
 * When to remind the owner: a day before the due date, or never when that moment is already
 * past (a request due within a day needs no reminder on top of the ticket itself).
 */
export function reminderAt(dueAt: Date, clock: Clock): Date | null {
  const at = dueAt.getTime() - REMINDER_LEAD_MS;
  return at > clock.now().getTime() ? new Date(at) : null;
}
