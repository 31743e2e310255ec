import { describe, expect, it } from 'vitest';
import { anAlert, aSource, aUser, T0 } from '../../../test/builders/alert.js';
import { type SourceAlertState, syncFromSource, UNSEEN_SOURCE_STATE } from './alert.sync.js';

const defender = aSource('defender');
const state = (overrides: Partial<SourceAlertState> = {}): SourceAlertState => ({
  ...UNSEEN_SOURCE_STATE,
  ...overrides,
});

describe('syncFromSource', () => {
  it('changes nothing when the source says what Vigil last saw', () => {
    const alert = anAlert({ status: 'in_progress' });
    const sync = syncFromSource(
      alert,
      state({ status: 'in_progress' }),
      state({ status: 'in_progress' }),
      defender,
      T0,
    );
    expect(sync).toEqual({ changed: false, alert, audit: [] });
  });

  it('takes a resolve at the source with its classification, as the source', () => {
    const sync = syncFromSource(
      anAlert({ status: 'new', version: 3 }),
      state(),
      state({ status: 'resolved', classification: 'false_positive' }),
      defender,
      T0,
    );
    expect(sync.alert).toMatchObject({
      status: 'resolved',
      classification: 'false_positive',
      statusChangedBy: defender,
      version: 4,
    });
    expect(sync.audit).toEqual([
      expect.objectContaining({
        action: 'alert.status_changed',
        actor: defender,
        details: { from: 'new', to: 'resolved', classification: 'false_positive' },
      }),
    ]);
  });

  it('takes a reopen at the source: resolved back to in progress clears the classification', () => {
    const sync = syncFromSource(
      anAlert({ status: 'resolved', classification: 'true_positive' }),
      state({ status: 'resolved', classification: 'true_positive' }),
      state({ status: 'in_progress' }),
      defender,
      T0,
    );
    expect(sync.alert).toMatchObject({ status: 'in_progress', classification: null });
    expect(sync.audit[0]?.details).toEqual({ from: 'resolved', to: 'in_progress' });
  });

  it('does not undo a Vigil decision the source has not changed (its status moved nowhere)', () => {
    const person = aUser();
    const alert = anAlert({ status: 'resolved', classification: 'true_positive', statusChangedBy: person });
    const sync = syncFromSource(
      alert,
      state({ status: 'new' }),
      state({ status: 'new', determination: 'malware' }),
      defender,
      T0,
    );
    expect(sync.alert).toMatchObject({
      status: 'resolved',
      statusChangedBy: person,
      determination: 'malware',
    });
    expect(sync.audit.map((entry) => entry.action)).toEqual(['alert.determination_changed']);
  });

  it('recognises Vigil’s own change coming back: same value, no change, actor kept', () => {
    const person = aUser();
    const alert = anAlert({ status: 'resolved', classification: 'true_positive', statusChangedBy: person });
    const sync = syncFromSource(
      alert,
      state({ status: 'new' }),
      state({ status: 'resolved', classification: 'true_positive' }),
      defender,
      T0,
    );
    expect(sync.changed).toBe(false);
  });

  it('takes a new classification of a resolved alert, and a new assignee by UPN', () => {
    const sync = syncFromSource(
      anAlert({ status: 'resolved', classification: 'true_positive' }),
      state({ status: 'resolved', classification: 'true_positive' }),
      state({
        status: 'resolved',
        classification: 'informational_expected_activity',
        assignedTo: 'dana@contoso.com',
      }),
      defender,
      T0,
    );
    expect(sync.alert).toMatchObject({
      classification: 'informational_expected_activity',
      assignee: { kind: 'user', id: 'dana@contoso.com' },
    });
    expect(sync.audit.map((entry) => entry.action)).toEqual(['alert.classified', 'alert.assigned']);
  });
});
