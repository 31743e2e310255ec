import { describe, expect, it } from 'vitest';
import { expectFail, expectOk } from '../../test/builders/result.js';
import { authorize, PERMISSIONS, type Permission, ROLES, type Role } from './roles.js';

/** Each role may do what the roles before it in ROLES may do. */
const mayDo = (role: Role, permission: Permission): boolean =>
  ROLES.indexOf(role) >= ROLES.indexOf(PERMISSIONS[permission]);

const cases = (Object.keys(PERMISSIONS) as Permission[]).flatMap((permission) =>
  ROLES.map((role) => ({
    permission,
    role,
    needed: PERMISSIONS[permission],
    allowed: mayDo(role, permission),
  })),
);

describe('authorize', () => {
  it('keeps decisions for approvers: approving actions, ending investigations, exceptions, exports', () => {
    for (const permission of [
      'action.decide',
      'investigation.terminate',
      'remediation.except',
      'remediation.export',
    ] as const) {
      expectFail(authorize('responder', permission), 'auth.forbidden');
      expect(expectOk(authorize('approver', permission))).toBe(true);
    }
  });

  it('has a rule for every permission naming a known role', () => {
    expect(cases.length).toBe(Object.keys(PERMISSIONS).length * ROLES.length);
    for (const needed of Object.values(PERMISSIONS)) expect(ROLES).toContain(needed);
  });

  it.each(cases.filter((c) => c.allowed))(
    'lets a $role do $permission (needs $needed)',
    ({ role, permission }) => {
      expect(expectOk(authorize(role, permission))).toBe(true);
    },
  );

  it.each(cases.filter((c) => !c.allowed))(
    'refuses a $role $permission, naming the $needed role',
    ({ role, permission, needed }) => {
      const error = expectFail(authorize(role, permission), 'auth.forbidden');
      expect(error.message).toContain(`You need the ${needed} role`);
      expect(error.message).toContain(`you are a ${role}`);
      expect(error.details).toEqual({ role, needed, permission });
    },
  );

  it('lets admins do everything and viewers only view', () => {
    for (const permission of Object.keys(PERMISSIONS) as Permission[]) {
      expect(authorize('admin', permission).ok).toBe(true);
      expect(authorize('viewer', permission).ok).toBe(permission === 'alert.view');
    }
  });

  it.each<[Role, Permission, boolean]>([
    ['viewer', 'alert.change_status', false],
    ['responder', 'alert.change_status', true],
    ['responder', 'alert.assign', true],
    ['responder', 'alert.investigate', true],
    ['responder', 'action.decide', false],
    ['approver', 'action.decide', true],
    ['approver', 'admin.manage', false],
  ])('%s may %s: %s', (role, permission, allowed) => {
    expect(authorize(role, permission).ok).toBe(allowed);
  });
});
