import { describe, expect, it } from 'vitest';
import { oidcDirectoryEntry, slackDirectoryEntry, teamsDirectoryEntry } from './auto-link.js';

describe('who may link by e-mail', () => {
  const member = { team_id: 'T01', profile: { email: 'ann@contoso.com' } };

  it('Slack: a member of the install workspace, not a guest, bot or Slack Connect user', () => {
    expect(slackDirectoryEntry(member, 'T01')).toEqual({
      email: 'ann@contoso.com',
      verified: true,
      refusal: null,
    });
    expect(slackDirectoryEntry({ ...member, is_restricted: true }, 'T01').refusal).toBe('guest');
    expect(slackDirectoryEntry({ ...member, is_ultra_restricted: true }, 'T01').refusal).toBe('guest');
    expect(slackDirectoryEntry({ ...member, team_id: 'T02' }, 'T01').refusal).toBe('external');
    expect(slackDirectoryEntry({ ...member, is_stranger: true }, 'T01').refusal).toBe('external');
    expect(slackDirectoryEntry({ ...member, is_bot: true }, 'T01').refusal).toBe('not_a_person');
    expect(slackDirectoryEntry({ team_id: 'T01' }, 'T01').refusal).toBe('no_email');
  });

  it('Teams: a member of the home tenant (compared without case), not a guest; none without a home tenant', () => {
    const teams = { email: 'Ann@Contoso.com', userPrincipalName: 'Ann@contoso.com', tenantId: 'TENANT-1' };
    expect(teamsDirectoryEntry(teams, 'tenant-1')).toEqual({
      email: 'Ann@Contoso.com',
      verified: true,
      refusal: null,
      upn: 'ann@contoso.com',
    });
    expect(teamsDirectoryEntry({ ...teams, userRole: 'guest' }, 'tenant-1').refusal).toBe('guest');
    expect(teamsDirectoryEntry({ ...teams, tenantId: 'tenant-2' }, 'tenant-1').refusal).toBe('other_tenant');
    expect(teamsDirectoryEntry(teams, null).refusal).toBe('other_tenant');
  });

  it('OIDC: only email_verified true; an Entra token of another tenant or a guest never', () => {
    const claims = { email: 'ann@contoso.com', email_verified: true };
    expect(oidcDirectoryEntry(claims, null).refusal).toBeNull();
    expect(oidcDirectoryEntry({ ...claims, email_verified: 'true' }, null).refusal).toBe('unverified');
    expect(oidcDirectoryEntry({ email: 'ann@contoso.com' }, null).refusal).toBe('unverified');
    expect(oidcDirectoryEntry({ ...claims, tid: 'tenant-1' }, 'tenant-1').refusal).toBeNull();
    expect(oidcDirectoryEntry({ ...claims, tid: 'tenant-2' }, 'tenant-1').refusal).toBe('other_tenant');
    expect(oidcDirectoryEntry({ ...claims, tid: 'tenant-1', acct: 1 }, 'tenant-1').refusal).toBe('guest');
  });
});
