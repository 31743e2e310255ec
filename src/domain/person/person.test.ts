import { describe, expect, it } from 'vitest';
import { identityKeys, lesserRole, roleFrom, shortIdentityKey } from './person.js';

describe('identity keys', () => {
  it('names the workspace or tenant first, then the older short form', () => {
    expect(identityKeys({ platform: 'slack', id: 'U1', tenant: 'T1' })).toEqual(['slack:T1:U1', 'slack:U1']);
    expect(identityKeys({ platform: 'teams', id: 'oid' })).toEqual(['teams:oid']);
    expect(shortIdentityKey('teams:tid:oid')).toBe('teams:oid');
    expect(shortIdentityKey('oidc:https://idp:sub')).toBeNull();
  });
});

describe('the role rule', () => {
  const base = { listedAdmin: false, granted: null, claimed: null, defaultRole: 'viewer' } as const;
  it('VIGIL_ADMINS first, then granted, then claimed, then the default', () => {
    expect(roleFrom({ ...base, listedAdmin: true, granted: 'viewer' })).toBe('admin');
    expect(roleFrom({ ...base, granted: 'responder', claimed: 'approver' })).toBe('responder');
    expect(roleFrom({ ...base, claimed: 'approver' })).toBe('approver');
    expect(roleFrom(base)).toBe('viewer');
  });
  it('a token acts with at most the role it was created with', () => {
    expect(roleFrom({ ...base, granted: 'admin', cap: 'responder' })).toBe('responder');
    expect(roleFrom({ ...base, granted: 'viewer', cap: 'admin' })).toBe('viewer');
    expect(lesserRole('approver', 'admin')).toBe('approver');
  });
});
