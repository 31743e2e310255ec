import { describe, expect, it } from 'vitest';
import { expectFail, expectOk } from '../../../test/builders/result.js';
import type { Actor } from '../actor.js';
import { fixedClock } from '../clock.js';
import type { Result } from '../result.js';
import { RemediationErrorCode } from './remediation.errors.js';
import {
  EXCEPTION_REASONS,
  REMEDIATION_STATUSES,
  type Remediation,
  type RemediationStatus,
  ticketingActor,
} from './remediation.js';
import {
  applyTicketStatus,
  COMMAND_TARGET,
  exceptionExpired,
  fileException,
  markCompleted,
  markInProgress,
  markOverdue,
  REMEDIATION_TRANSITIONS,
  type RemediationChange,
  type RemediationCommand,
} from './remediation.machine.js';

const T0 = new Date('2026-03-01T09:00:00.000Z');
const DAY = 86_400_000;
const at = (ms: number) => new Date(T0.getTime() + ms);
const person: Actor = { kind: 'user', platform: 'slack', id: 'U0123' };

function aRemediation(overrides: Partial<Remediation> = {}): Remediation {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    subject: { kind: 'recommendation', text: 'Update Chrome to 131' },
    deviceCount: 3,
    devicesLeft: 0,
    dueAt: at(7 * DAY),
    priority: 'high',
    notes: 'Exploited in the wild',
    requester: person,
    alertId: null,
    status: 'open',
    connector: 'builtin',
    externalId: null,
    externalUrl: null,
    exception: null,
    completedAt: null,
    completedBy: null,
    completionComment: null,
    version: 1,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

const anException = (expiresAt = at(30 * DAY)) => ({
  reason: 'compensating_control' as const,
  justification: 'WAF rule blocks the exploit',
  expiresAt,
  filedBy: person,
  filedAt: T0,
});

/** Runs a command against a remediation in `from`, with whatever the command needs to be accepted. */
function run(command: RemediationCommand, from: RemediationStatus): Result<RemediationChange> {
  const base = aRemediation({
    status: from,
    exception: from === 'exception' ? anException(at(DAY)) : null,
  });
  switch (command) {
    case 'start':
      return markInProgress(base, person, at(2 * DAY));
    case 'complete':
      return markCompleted(base, person, at(2 * DAY));
    case 'mark_overdue':
      return markOverdue(base, at(8 * DAY));
    case 'file_exception':
      return fileException(
        base,
        { reason: 'false_positive', justification: 'Not installed', expiresAt: at(40 * DAY) },
        person,
        at(2 * DAY),
      );
    case 'exception_expired':
      return exceptionExpired(base, at(2 * DAY));
  }
}

const COMMANDS = Object.keys(COMMAND_TARGET) as RemediationCommand[];
const allowed = Object.entries(REMEDIATION_TRANSITIONS).flatMap(([from, commands]) =>
  Object.entries(commands).map(([command, to]) => ({
    from: from as RemediationStatus,
    command: command as RemediationCommand,
    to: to as RemediationStatus,
  })),
);
const disallowed = REMEDIATION_STATUSES.flatMap((from) =>
  COMMANDS.filter((command) => {
    const table = REMEDIATION_TRANSITIONS[from] as Partial<Record<RemediationCommand, RemediationStatus>>;
    return table[command] === undefined && COMMAND_TARGET[command] !== from;
  }).map((command) => ({ from, command })),
);

describe('REMEDIATION_TRANSITIONS', () => {
  it('covers every status and leads each command where COMMAND_TARGET says', () => {
    expect(Object.keys(REMEDIATION_TRANSITIONS).sort()).toEqual([...REMEDIATION_STATUSES].sort());
    for (const { command, to } of allowed) expect(to).toBe(COMMAND_TARGET[command]);
  });

  it('makes completed final', () => {
    expect(allowed.filter((t) => t.from === 'completed')).toEqual([]);
  });

  describe.each(allowed)('$from --$command--> $to', ({ from, command, to }) => {
    it('is accepted, bumps the version and emits one event', () => {
      const change = expectOk(run(command, from));
      expect(change).toMatchObject({ changed: true, from, to });
      expect(change.remediation.status).toBe(to);
      expect(change.remediation.version).toBe(2);
      expect(change.event?.type).toBe(`remediation.${command}`);
      expect(change.event?.message.length).toBeGreaterThan(10);
    });
  });

  describe.each(disallowed)('$from --$command--> (refused)', ({ from, command }) => {
    it('is refused with a stable code', () => {
      const result = run(command, from);
      // exception_expired outside an exception is a harmless no-op for a late job, not an error.
      if (command === 'exception_expired') {
        expect(expectOk(result).changed).toBe(false);
        return;
      }
      expectFail(result, RemediationErrorCode.TransitionNotAllowed);
    });
  });

  it('accepts asking for the current state as a no-op', () => {
    const done = aRemediation({ status: 'completed' });
    const change = expectOk(markCompleted(done, person, at(DAY)));
    expect(change).toMatchObject({ changed: false, event: null });
    expect(change.remediation).toBe(done);
    expect(expectOk(markOverdue(aRemediation({ status: 'overdue' }), at(8 * DAY))).changed).toBe(false);
  });
});

describe('markCompleted', () => {
  it('records who completed it: a person or the ticketing system', () => {
    const byPerson = expectOk(markCompleted(aRemediation(), person, at(DAY)));
    expect(byPerson.remediation).toMatchObject({ completedBy: person, completedAt: at(DAY) });
    const jira = ticketingActor('jira');
    const bySystem = expectOk(markCompleted(aRemediation({ status: 'in_progress' }), jira, at(DAY)));
    expect(bySystem.remediation.completedBy).toEqual(jira);
    expect(bySystem.event?.message).toMatch(/ticket was closed/);
  });

  it('ends an exception in force', () => {
    const excepted = aRemediation({ status: 'exception', exception: anException() });
    expect(expectOk(markCompleted(excepted, person, at(DAY))).remediation.exception).toBeNull();
  });
});

describe('applyTicketStatus', () => {
  it('lets only the ticketing system that tracks the remediation move it', () => {
    const onJira = aRemediation({ connector: 'jira', externalId: 'SEC-1' });
    const done = expectOk(applyTicketStatus(onJira, 'jira', 'done', at(DAY)));
    expect(done.remediation.completedBy).toEqual(ticketingActor('jira'));
    expect(expectOk(applyTicketStatus(onJira, 'jira', 'in_progress', at(DAY))).to).toBe('in_progress');
    expectFail(applyTicketStatus(onJira, 'servicenow', 'done', at(DAY)), RemediationErrorCode.WrongConnector);
    expectFail(
      applyTicketStatus(aRemediation({ connector: 'builtin' }), 'webhook', 'done', at(DAY)),
      RemediationErrorCode.WrongConnector,
    );
    expectFail(
      applyTicketStatus(aRemediation({ connector: null }), 'jira', 'done', at(DAY)),
      RemediationErrorCode.WrongConnector,
    );
  });
});

describe('markOverdue', () => {
  it('is refused before the due date, by the clock', () => {
    expectFail(markOverdue(aRemediation(), at(7 * DAY - 1)), RemediationErrorCode.NotYetDue);
    expect(expectOk(markOverdue(aRemediation(), at(7 * DAY))).to).toBe('overdue');
  });

  it('is the system acting', () => {
    expect(expectOk(markOverdue(aRemediation(), at(8 * DAY))).event?.actor).toEqual({ kind: 'system' });
  });
});

describe('fileException', () => {
  it.each(EXCEPTION_REASONS)('accepts the reason %s with its justification and expiry', (reason) => {
    const change = expectOk(
      fileException(aRemediation(), { reason, justification: '  Why  ', expiresAt: at(9 * DAY) }, person, T0),
    );
    expect(change.remediation.exception).toEqual({
      reason,
      justification: 'Why',
      expiresAt: at(9 * DAY),
      filedBy: person,
      filedAt: T0,
    });
    expect(change.event?.details).toMatchObject({ reason, justification: 'Why' });
  });

  it('needs a justification and a future expiry', () => {
    const request = { reason: 'false_positive' as const, expiresAt: at(DAY) };
    expectFail(
      fileException(aRemediation(), { ...request, justification: '   ' }, person, T0),
      RemediationErrorCode.JustificationRequired,
    );
    expectFail(
      fileException(aRemediation(), { ...request, justification: 'x', expiresAt: T0 }, person, T0),
      RemediationErrorCode.ExpiryInPast,
    );
  });

  it('renews an exception in force', () => {
    const excepted = aRemediation({ status: 'exception', exception: anException(at(DAY)), version: 4 });
    const change = expectOk(
      fileException(
        excepted,
        { reason: 'planned_remediation', justification: 'Patch window', expiresAt: at(20 * DAY) },
        person,
        T0,
      ),
    );
    expect(change.changed).toBe(true);
    expect(change.remediation.exception?.expiresAt).toEqual(at(20 * DAY));
    expect(change.remediation.version).toBe(5);
  });
});

describe('exceptionExpired', () => {
  it('reopens the remediation and says so once the expiry has come', () => {
    const clock = fixedClock(T0);
    const excepted = aRemediation({ status: 'exception', exception: anException(at(DAY)) });
    expectFail(exceptionExpired(excepted, clock.now()), RemediationErrorCode.ExceptionNotExpired);
    clock.advance(DAY);
    const change = expectOk(exceptionExpired(excepted, clock.now()));
    expect(change.remediation).toMatchObject({ status: 'open', exception: null });
    expect(change.event?.message).toMatch(/expired .*open again/);
  });
});
