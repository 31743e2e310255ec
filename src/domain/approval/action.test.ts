import { describe, expect, it } from 'vitest';
import type { InvestigationEntity } from '../investigation/investigation.js';
import {
  ACTION_STATUSES,
  ACTION_TRANSITIONS,
  type ActionStatus,
  approvalsNeeded,
  canMoveAction,
  DEFAULT_APPROVAL_POLICY,
  initialActionStatus,
  isHighImpact,
  proposeActions,
} from './action.js';

const anEntity = (overrides: Partial<InvestigationEntity>): InvestigationEntity => ({
  kind: 'user',
  key: 'adele@contoso.com',
  displayName: 'Adele',
  verdict: 'malicious',
  why: 'watchlisted',
  attributes: {},
  ...overrides,
});

describe('action transitions', () => {
  const pairs = ACTION_STATUSES.flatMap((from) => ACTION_STATUSES.map((to) => [from, to] as const));
  it.each(pairs)('%s -> %s follows the table', (from, to) => {
    expect(canMoveAction(from, to)).toBe((ACTION_TRANSITIONS[from] as readonly ActionStatus[]).includes(to));
  });
});

describe('proposals', () => {
  it('fits remediations to kinds and verdicts', () => {
    const proposals = proposeActions([
      anEntity({}),
      anEntity({ kind: 'user', key: 'bob', verdict: 'suspicious' }),
      anEntity({ kind: 'device', key: 'd1' }),
      anEntity({ kind: 'file', key: 'sha' }),
      anEntity({ kind: 'ip', key: '1.2.3.4' }),
      anEntity({ kind: 'url', key: 'http://x' }),
      anEntity({ kind: 'app', key: 'app-1', verdict: 'suspicious' }),
      anEntity({ kind: 'process', key: 'p' }),
      anEntity({ kind: 'device', key: 'clean', verdict: 'clean' }),
      anEntity({ kind: 'user', key: 'nobody', verdict: 'unknown' }),
    ]);
    expect(proposals.map((p) => `${p.kind}:${p.target.key}`)).toEqual([
      'revoke_sessions:adele@contoso.com',
      'disable_user:adele@contoso.com',
      'revoke_sessions:bob',
      'isolate_device:d1',
      'quarantine_file:sha',
      'block_indicator:sha',
      'block_indicator:1.2.3.4',
      'block_indicator:http://x',
      'revoke_oauth_consent:app-1',
    ]);
    expect(proposals[0]?.reason).toContain('watchlisted');
    expect(proposals[0]?.evidence).toMatchObject({ verdict: 'malicious' });
  });

  it('marks privileged users and wide targets as high-impact', () => {
    const [admin] = proposeActions([anEntity({ attributes: { roles: ['Global Administrator'] } })]);
    const [wide] = proposeActions([
      anEntity({ kind: 'device', key: 'group', attributes: { deviceCount: 51 } }),
    ]);
    const [narrow] = proposeActions([
      anEntity({ kind: 'device', key: 'group', attributes: { deviceCount: 50 } }),
    ]);
    const [plain] = proposeActions([anEntity({ key: 'ceo@contoso.com' })]);
    expect(isHighImpact(admin!, DEFAULT_APPROVAL_POLICY)).toBe(true);
    expect(approvalsNeeded(wide!, DEFAULT_APPROVAL_POLICY)).toBe(2);
    expect(approvalsNeeded(narrow!, DEFAULT_APPROVAL_POLICY)).toBe(1);
    expect(isHighImpact(plain!, DEFAULT_APPROVAL_POLICY)).toBe(false);
    expect(isHighImpact(plain!, { maxTargets: 50, privilegedUsers: ['ceo@contoso.com'] })).toBe(true);
    expect(isHighImpact(wide!, { maxTargets: 100, privilegedUsers: [] })).toBe(false);
  });

  it('compares privileged users as Entra ID does, without case', () => {
    const [cfo] = proposeActions([anEntity({ key: 'cfo@CONTOSO.com' })]);
    expect(isHighImpact(cfo!, { maxTargets: 50, privilegedUsers: ['CFO@contoso.com'] })).toBe(true);
  });

  it('starts actions by automation level', () => {
    const [plain] = proposeActions([anEntity({})]);
    const [admin] = proposeActions([anEntity({ attributes: { privileged: true } })]);
    expect(initialActionStatus('full', plain!, DEFAULT_APPROVAL_POLICY)).toBe('approved');
    expect(initialActionStatus('full', admin!, DEFAULT_APPROVAL_POLICY)).toBe('pending_approval');
    expect(initialActionStatus('semi', plain!, DEFAULT_APPROVAL_POLICY)).toBe('pending_approval');
    expect(initialActionStatus('none', plain!, DEFAULT_APPROVAL_POLICY)).toBeNull();
  });
});
