import { describe, expect, it } from 'vitest';
import type { Actor } from '../actor.js';
import { type ActionForDecision, decideOn } from './decide.js';

const alice: Actor = { kind: 'user', platform: 'slack', id: 'UALICE' };
const bob: Actor = { kind: 'user', platform: 'teams', id: 'bob' };
const pending = (overrides: Partial<ActionForDecision> = {}): ActionForDecision => ({
  status: 'pending_approval',
  requestedByKey: 'slack:UREQ',
  approvalsNeeded: 1,
  decisions: [],
  ...overrides,
});

describe('approval rules', () => {
  it('approves with one approver for an ordinary action', () => {
    expect(decideOn(pending(), alice, 'approve', undefined)).toEqual({
      ok: true,
      value: { status: 'approved', approvals: 1, approvalsNeeded: 1 },
    });
  });

  it('compares people, not identities: one person through Slack and Teams decides once', () => {
    const aliceOnSlack: Actor = { ...alice, personId: 'p-alice' };
    const aliceOnTeams: Actor = { kind: 'user', platform: 'teams', id: 'oid-alice', personId: 'p-alice' };
    const recorded = pending({
      approvalsNeeded: 2,
      decisions: [{ approverKey: 'person:p-alice', decision: 'approve' }],
    });
    const again = decideOn(recorded, aliceOnTeams, 'approve', undefined);
    expect(!again.ok && again.error.code).toBe('action.already_decided');
    const own = decideOn(pending({ requestedByKey: 'person:p-alice' }), aliceOnSlack, 'approve', undefined);
    expect(!own.ok && own.error.code).toBe('action.requester_cannot_approve');
  });

  it('refuses the requester an approval but lets them withdraw by rejecting', () => {
    const action = pending({ requestedByKey: 'slack:UALICE' });
    const approve = decideOn(action, alice, 'approve', undefined);
    expect(!approve.ok && approve.error.code).toBe('action.requester_cannot_approve');
    expect(decideOn(action, alice, 'reject', 'not needed').ok).toBe(true);
  });

  it('needs a reason to reject', () => {
    for (const reason of [undefined, '', '   ']) {
      const result = decideOn(pending(), alice, 'reject', reason);
      expect(!result.ok && result.error.code).toBe('action.reason_required');
    }
  });

  it.each(['approved', 'rejected', 'running', 'done', 'failed'] as const)(
    'refuses to decide an action that is %s',
    (status) => {
      const result = decideOn(pending({ status }), alice, 'approve', undefined);
      expect(!result.ok && result.error.code).toBe('action.already_decided');
    },
  );

  it('needs two different approvers for a high-impact action', () => {
    const first = decideOn(pending({ approvalsNeeded: 2 }), alice, 'approve', undefined);
    expect(first.ok).toBe(false);
    if (!first.ok) {
      expect(first.error.code).toBe('action.needs_second_approver');
      expect(first.error.details).toMatchObject({ recorded: true, approvals: 1, approvalsNeeded: 2 });
    }
    const recorded = pending({
      approvalsNeeded: 2,
      decisions: [{ approverKey: 'slack:UALICE', decision: 'approve' }],
    });
    const again = decideOn(recorded, alice, 'approve', undefined);
    expect(!again.ok && again.error.code).toBe('action.already_decided');
    expect(decideOn(recorded, bob, 'approve', undefined)).toEqual({
      ok: true,
      value: { status: 'approved', approvals: 2, approvalsNeeded: 2 },
    });
    expect(decideOn(recorded, bob, 'reject', 'too broad')).toMatchObject({
      ok: true,
      value: { status: 'rejected' },
    });
  });
});
