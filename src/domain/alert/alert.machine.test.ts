import { describe, expect, it } from 'vitest';
import { anAlert, aPolicy, aSource, at, aUser } from '../../../test/builders/alert.js';
import { expectFail, expectOk } from '../../../test/builders/result.js';
import { systemActor } from '../actor.js';
import { ALERT_STATUSES, type AlertStatus, CLASSIFICATIONS, type Classification } from './alert.js';
import {
  ACTION_TARGET,
  ALERT_TRANSITIONS,
  actionForStatus,
  assignAlert,
  changeStatus,
  type StatusAction,
} from './alert.machine.js';

const NOW = at(60_000);
const ACTIONS = Object.keys(ACTION_TARGET) as StatusAction[];

/** Every (from, action, to) the table allows. */
const allowed = Object.entries(ALERT_TRANSITIONS).flatMap(([from, actions]) =>
  Object.entries(actions).map(([action, to]) => ({
    from: from as AlertStatus,
    action: action as StatusAction,
    to: to as AlertStatus,
  })),
);

/** Every (status, action) outside the table that is not a no-op (asking for the current status). */
const disallowed = ALERT_STATUSES.flatMap((from) =>
  ACTIONS.filter((action) => {
    const inTable =
      (ALERT_TRANSITIONS[from] as Partial<Record<StatusAction, AlertStatus>>)[action] !== undefined;
    return !inTable && ACTION_TARGET[action] !== from;
  }).map((action) => ({ from, action, to: ACTION_TARGET[action] })),
);

/** What a user must give for a change to be accepted: a classification when resolving. */
const classificationFor = (to: AlertStatus): Classification | undefined =>
  to === 'resolved' ? 'true_positive' : undefined;

describe('ALERT_TRANSITIONS', () => {
  it('covers every status and leads each action where ACTION_TARGET says', () => {
    expect(Object.keys(ALERT_TRANSITIONS).sort()).toEqual([...ALERT_STATUSES].sort());
    for (const { action, to } of allowed) expect(to).toBe(ACTION_TARGET[action]);
  });

  it('maps each status to the action that reaches it', () => {
    for (const status of ALERT_STATUSES) expect(ACTION_TARGET[actionForStatus(status)]).toBe(status);
  });

  it('leaves reopen as the only way out of resolved', () => {
    expect(allowed.filter((t) => t.from === 'resolved').map((t) => t.action)).toEqual(['reopen']);
  });

  it('has disallowed pairs to check', () => {
    expect(disallowed.length).toBeGreaterThan(0);
  });
});

describe('changeStatus', () => {
  describe.each(allowed)('$from --$action--> $to', ({ from, action, to }) => {
    it('is accepted, bumps the version by one and records who and when', () => {
      const alert = anAlert({ status: from, version: 7 });
      const change = expectOk(
        changeStatus(
          alert,
          { action, classification: classificationFor(to), expectedVersion: 7 },
          aUser(),
          NOW,
        ),
      );
      expect(change.changed).toBe(true);
      expect(change.from).toBe(from);
      expect(change.to).toBe(to);
      expect(change.alert.status).toBe(to);
      expect(change.alert.version).toBe(8);
      expect(change.alert.statusChangedBy).toEqual(aUser());
      expect(change.alert.statusChangedAt).toEqual(NOW);
      expect(change.alert.updatedAt).toEqual(NOW);
    });

    it('changes only status, classification, comment, who, when and version, leaving the input alone', () => {
      const alert = anAlert({
        status: from,
        version: 7,
        assignee: aUser({ id: 'U999' }),
        occurrenceCount: 4,
      });
      const before = structuredClone(alert);
      const change = expectOk(
        changeStatus(alert, { action, classification: classificationFor(to) }, aUser(), NOW),
      );
      expect(alert).toEqual(before);
      expect(change.alert).toEqual({
        ...before,
        status: to,
        classification: to === 'resolved' ? 'true_positive' : null,
        resolutionComment: null,
        statusChangedBy: aUser(),
        statusChangedAt: NOW,
        version: 8,
        updatedAt: NOW,
      });
    });
  });

  describe.each(disallowed)('$from --$action--> $to (not in the table)', ({ from, action, to }) => {
    it('is refused with alert.transition_not_allowed', () => {
      const alert = anAlert({ status: from, version: 3 });
      const error = expectFail(
        changeStatus(
          alert,
          { action, classification: classificationFor(to), expectedVersion: 3 },
          aUser(),
          NOW,
        ),
        'alert.transition_not_allowed',
      );
      expect(error.details).toEqual({ from, to });
    });

    it('is refused for sources and policies too', () => {
      for (const actor of [aSource(), aPolicy(), systemActor]) {
        expectFail(
          changeStatus(anAlert({ status: from }), { action }, actor, NOW),
          'alert.transition_not_allowed',
        );
      }
    });
  });

  it('refuses in_progress -> new and resolved -> in_progress', () => {
    expectFail(
      changeStatus(anAlert({ status: 'in_progress' }), { action: 'reopen' }, aUser(), NOW),
      'alert.transition_not_allowed',
    );
    expectFail(
      changeStatus(anAlert({ status: 'resolved' }), { action: 'start_progress' }, aUser(), NOW),
      'alert.transition_not_allowed',
    );
  });

  describe.each(ALERT_STATUSES)('asking a %s alert for its own status', (status) => {
    const action = actionForStatus(status);

    it.each([undefined, 4, 5, 6, 99])('is a no-op (expectedVersion %s)', (expectedVersion) => {
      const alert = anAlert({
        status,
        version: 5,
        classification: status === 'resolved' ? 'false_positive' : null,
      });
      const change = expectOk(changeStatus(alert, { action, expectedVersion }, aUser(), NOW));
      expect(change.changed).toBe(false);
      expect(change.from).toBe(status);
      expect(change.to).toBe(status);
      expect(change.alert).toBe(alert);
      expect(change.alert.version).toBe(5);
      expect(change.alert.statusChangedAt).toBeNull();
    });
  });

  it('does not re-classify an alert resolved a second time', () => {
    const alert = anAlert({
      status: 'resolved',
      classification: 'false_positive',
      resolutionComment: 'noise',
    });
    const change = expectOk(
      changeStatus(
        alert,
        { action: 'resolve', classification: 'true_positive', comment: 'oops' },
        aUser(),
        NOW,
      ),
    );
    expect(change.changed).toBe(false);
    expect(change.alert.classification).toBe('false_positive');
    expect(change.alert.resolutionComment).toBe('noise');
  });

  describe('on a stale expectedVersion when a change is needed', () => {
    it.each(allowed)('refuses $from --$action--> with alert.version_conflict', ({ from, action, to }) => {
      const alert = anAlert({ status: from, version: 4 });
      const error = expectFail(
        changeStatus(
          alert,
          { action, classification: classificationFor(to), expectedVersion: 3 },
          aUser(),
          NOW,
        ),
        'alert.version_conflict',
      );
      expect(error.details).toEqual({ currentStatus: from, currentVersion: 4, expectedVersion: 3 });
    });

    it('refuses a version from the future too', () => {
      const error = expectFail(
        changeStatus(anAlert({ version: 4 }), { action: 'start_progress', expectedVersion: 5 }, aUser(), NOW),
        'alert.version_conflict',
      );
      expect(error.details).toEqual({ currentStatus: 'new', currentVersion: 4, expectedVersion: 5 });
      expect(error.message).toContain('New');
    });

    it('accepts the change without an expectedVersion', () => {
      const change = expectOk(
        changeStatus(anAlert({ version: 4 }), { action: 'start_progress' }, aUser(), NOW),
      );
      expect(change.alert.version).toBe(5);
    });
  });

  describe('resolving', () => {
    it.each(['new', 'in_progress'] as const)('needs a classification from a user (from %s)', (status) => {
      expectFail(
        changeStatus(anAlert({ status }), { action: 'resolve', comment: 'done' }, aUser(), NOW),
        'alert.classification_required',
      );
    });

    it.each([
      ['a source', aSource()],
      ['a policy', aPolicy()],
      ['the system', systemActor],
    ])('does not need one from %s', (_label, actor) => {
      const change = expectOk(
        changeStatus(anAlert({ status: 'in_progress' }), { action: 'resolve' }, actor, NOW),
      );
      expect(change.changed).toBe(true);
      expect(change.alert.status).toBe('resolved');
      expect(change.alert.classification).toBeNull();
      expect(change.alert.resolutionComment).toBeNull();
      expect(change.alert.statusChangedBy).toEqual(actor);
    });

    it.each(CLASSIFICATIONS)('stores the classification %s and the comment', (classification) => {
      const change = expectOk(
        changeStatus(
          anAlert(),
          { action: 'resolve', classification, comment: 'checked with Bob' },
          aUser(),
          NOW,
        ),
      );
      expect(change.alert.classification).toBe(classification);
      expect(change.alert.resolutionComment).toBe('checked with Bob');
    });

    it('stores a classification given by a source', () => {
      const change = expectOk(
        changeStatus(anAlert(), { action: 'resolve', classification: 'false_positive' }, aSource(), NOW),
      );
      expect(change.alert.classification).toBe('false_positive');
    });
  });

  describe('a classification on anything but resolve', () => {
    it.each(allowed.filter((t) => t.to !== 'resolved'))(
      'is refused on $from --$action--> $to',
      ({ from, action }) => {
        expectFail(
          changeStatus(anAlert({ status: from }), { action, classification: 'true_positive' }, aUser(), NOW),
          'alert.classification_only_on_resolve',
        );
      },
    );
  });

  it('clears classification and comment on reopen', () => {
    const alert = anAlert({
      status: 'resolved',
      classification: 'true_positive',
      resolutionComment: 'contained',
      version: 2,
    });
    const change = expectOk(changeStatus(alert, { action: 'reopen', comment: 'it is back' }, aUser(), NOW));
    expect(change.alert.status).toBe('new');
    expect(change.alert.classification).toBeNull();
    expect(change.alert.resolutionComment).toBeNull();
    expect(change.alert.version).toBe(3);
  });

  it('records the actor and time of each change in a sequence', () => {
    const alice = aUser({ id: 'UALICE', name: 'Alice' });
    const bob = aUser({ platform: 'teams', id: '00000000-0000-0000-0000-000000000001' });
    const started = expectOk(
      changeStatus(anAlert({ version: 1 }), { action: 'start_progress' }, alice, at(1_000)),
    );
    const resolved = expectOk(
      changeStatus(
        started.alert,
        { action: 'resolve', classification: 'false_positive', expectedVersion: 2 },
        bob,
        at(2_000),
      ),
    );
    expect(started.alert.version).toBe(2);
    expect(started.alert.statusChangedBy).toEqual(alice);
    expect(started.alert.statusChangedAt).toEqual(at(1_000));
    expect(resolved.alert.version).toBe(3);
    expect(resolved.alert.statusChangedBy).toEqual(bob);
    expect(resolved.alert.statusChangedAt).toEqual(at(2_000));
    expect(resolved.alert.updatedAt).toEqual(at(2_000));
  });
});

describe('assignAlert', () => {
  it.each(['new', 'in_progress'] as const)('assigns an unassigned %s alert', (status) => {
    const alert = anAlert({ status, version: 3 });
    const result = expectOk(assignAlert(alert, aUser(), NOW, 3));
    expect(result.changed).toBe(true);
    expect(result.alert.assignee).toEqual(aUser());
    expect(result.alert.version).toBe(4);
    expect(result.alert.updatedAt).toEqual(NOW);
    expect(result.alert.status).toBe(status);
    expect(alert.assignee).toBeNull();
  });

  it('moves an alert to another assignee', () => {
    const alert = anAlert({ assignee: aUser({ id: 'UOLD' }), version: 3 });
    const result = expectOk(assignAlert(alert, aUser({ id: 'UNEW' }), NOW));
    expect(result.changed).toBe(true);
    expect(result.alert.assignee).toEqual(aUser({ id: 'UNEW' }));
    expect(result.alert.version).toBe(4);
  });

  it.each([undefined, 3, 2])(
    'is a no-op for the current assignee (expectedVersion %s)',
    (expectedVersion) => {
      const alert = anAlert({ assignee: aUser(), version: 3 });
      const result = expectOk(assignAlert(alert, aUser(), NOW, expectedVersion));
      expect(result.changed).toBe(false);
      expect(result.alert).toBe(alert);
      expect(result.alert.version).toBe(3);
    },
  );

  it('is a no-op for the current assignee whatever the order of its keys (as jsonb returns them)', () => {
    // Postgres jsonb stores object keys shorter-first, so a stored assignee comes back as { id, kind, platform }.
    const stored = { id: 'U0123', kind: 'user', platform: 'slack' } as const;
    const alert = anAlert({ assignee: stored, version: 3 });
    const result = expectOk(assignAlert(alert, aUser(), NOW, 3));
    expect(result.changed).toBe(false);
    expect(result.alert.version).toBe(3);
  });

  it('refuses a resolved alert', () => {
    expectFail(assignAlert(anAlert({ status: 'resolved' }), aUser(), NOW), 'alert.transition_not_allowed');
    expectFail(
      assignAlert(anAlert({ status: 'resolved', assignee: aUser() }), aUser(), NOW),
      'alert.transition_not_allowed',
    );
  });

  it('refuses a stale expectedVersion with alert.version_conflict', () => {
    const alert = anAlert({ status: 'in_progress', version: 6 });
    const error = expectFail(assignAlert(alert, aUser(), NOW, 5), 'alert.version_conflict');
    expect(error.details).toEqual({ currentStatus: 'in_progress', currentVersion: 6, expectedVersion: 5 });
  });
});

describe('determination on resolve', () => {
  it('is taken when resolving, and kept from before when none is chosen', () => {
    const resolved = expectOk(
      changeStatus(
        anAlert(),
        { action: 'resolve', classification: 'true_positive', determination: 'phishing' },
        aUser(),
        NOW,
      ),
    );
    expect(resolved.alert.determination).toBe('phishing');
    const kept = expectOk(
      changeStatus(
        anAlert({ determination: 'malware' }),
        { action: 'resolve', classification: 'true_positive' },
        aUser(),
        NOW,
      ),
    );
    expect(kept.alert.determination).toBe('malware');
  });

  it('is refused on any other change', () => {
    expectFail(
      changeStatus(anAlert(), { action: 'start_progress', determination: 'malware' }, aUser(), NOW),
      'alert.classification_only_on_resolve',
    );
  });
});
