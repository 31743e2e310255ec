import { describe, expect, it } from 'vitest';
import { expectFail, expectOk } from '../../../test/builders/result.js';
import { fixedClock } from '../clock.js';
import { checkDueDate, checkExceptionExpiry, reminderAt } from './remediation.due.js';
import { RemediationErrorCode } from './remediation.errors.js';

const T0 = new Date('2026-03-01T09:00:00.000Z');
const HOUR = 3_600_000;
const at = (ms: number) => new Date(T0.getTime() + ms);

describe('due-date rules', () => {
  const clock = fixedClock(T0);

  it('wants a due date at least an hour out and within a year', () => {
    expectFail(checkDueDate(at(HOUR - 1), clock), RemediationErrorCode.DueDateInPast);
    expect(expectOk(checkDueDate(at(HOUR), clock))).toEqual(at(HOUR));
    expectFail(checkDueDate(at(367 * 24 * HOUR), clock), RemediationErrorCode.DueDateTooFar);
  });

  it('reminds a day before the due date, or not at all when that is past', () => {
    expect(reminderAt(at(48 * HOUR), clock)).toEqual(at(24 * HOUR));
    expect(reminderAt(at(24 * HOUR), clock)).toBeNull();
  });

  it('wants an exception expiry in the future and within a year', () => {
    expectFail(checkExceptionExpiry(T0, clock), RemediationErrorCode.ExpiryInPast);
    expectFail(checkExceptionExpiry(at(367 * 24 * HOUR), clock), RemediationErrorCode.ExpiryTooFar);
    expect(expectOk(checkExceptionExpiry(at(HOUR), clock))).toEqual(at(HOUR));
  });
});
