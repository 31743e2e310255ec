import { describe, expect, it } from 'vitest';
import type { AlertEntity } from '../alert/alert.js';
import { planPolicyRemediation, policyRemediationOutcome } from './remediation-plan.js';

const entity = (kind: AlertEntity['kind'], key: string, attributes: Record<string, unknown> = {}) =>
  ({ kind, key, displayName: key, roles: [], attributes }) satisfies AlertEntity;
const approval = { maxTargets: 2, privilegedUsers: ['ceo@contoso.com'] };

describe('planPolicyRemediation', () => {
  it('makes one approved action per step and target, and lists steps without a target', () => {
    const plan = planPolicyRemediation(
      [{ action: 'revoke_sessions' }, { action: 'isolate_device' }],
      [entity('user', 'adele@contoso.com')],
      approval,
    );
    expect(plan.actions).toMatchObject([
      { step: 0, kind: 'revoke_sessions', status: 'approved', approvalsNeeded: 1 },
    ]);
    expect(plan.untargeted).toEqual([
      { step: 1, kind: 'isolate_device', reason: expect.stringContaining('no target found') },
    ]);
  });

  it('waits for two approvers on a privileged user and on a step reaching too many targets', () => {
    const privileged = planPolicyRemediation(
      [{ action: 'disable_user' }],
      [entity('user', 'CEO@contoso.com'), entity('user', 'adele@contoso.com')],
      approval,
    );
    expect(privileged.actions.map((a) => [a.target.key, a.status, a.approvalsNeeded])).toEqual([
      ['CEO@contoso.com', 'pending_approval', 2],
      ['adele@contoso.com', 'approved', 1],
    ]);
    const wide = planPolicyRemediation(
      [{ action: 'isolate_device' }],
      ['a', 'b', 'c'].map((key) => entity('device', key)),
      approval,
    );
    expect(wide.actions.every((a) => a.status === 'pending_approval' && a.approvalsNeeded === 2)).toBe(true);
  });
});

describe('policyRemediationOutcome', () => {
  const action = (step: number, status: 'done' | 'failed' | 'rejected', error: string | null = null) => ({
    step,
    kind: 'revoke_sessions' as const,
    targetDisplay: `t${step}`,
    status,
    error,
    rejection: status === 'rejected' ? 'not now' : null,
  });

  it('is complete when every step succeeded on at least one target', () => {
    expect(
      policyRemediationOutcome(2, [action(0, 'done'), action(0, 'failed'), action(1, 'done')], []),
    ).toEqual({ complete: true });
  });

  it('says why each other step was not done', () => {
    const outcome = policyRemediationOutcome(
      3,
      [action(0, 'failed', 'no executor is configured for revoke_sessions'), action(1, 'rejected')],
      [{ step: 2, kind: 'isolate_device', reason: 'no target found' }],
    );
    expect(outcome).toEqual({
      complete: false,
      unmet: [
        {
          step: 0,
          kind: 'revoke_sessions',
          reason: 't0: failed: no executor is configured for revoke_sessions',
        },
        { step: 1, kind: 'revoke_sessions', reason: 't1: rejected: not now' },
        { step: 2, kind: 'isolate_device', reason: 'no target found' },
      ],
    });
  });
});
