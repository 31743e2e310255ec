import { fail, ok, type Result } from './result.js';

/** Roles, least first: each can do what the ones before it can. */
export const ROLES = ['viewer', 'responder', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What can be done, and the least role that may do it. */
export const PERMISSIONS = {
  'alert.view': 'viewer',
  'alert.change_status': 'responder',
  'alert.assign': 'responder',
  'alert.investigate': 'responder',
  /** Mute matching alerts for a while, extend or end a silence. */
  'silence.manage': 'responder',
  /** Ask IT to fix devices, mark a remediation done. */
  'remediation.request': 'responder',
  /** Accept a risk instead of fixing it (an exception): a decision, like approving an action. */
  'remediation.except': 'approver',
  'action.decide': 'approver',
  'investigation.terminate': 'approver',
  /** Every remediation, with devices and notes, into a channel: not for every responder. */
  'remediation.export': 'approver',
  'admin.manage': 'admin',
} as const satisfies Record<string, Role>;
export type Permission = keyof typeof PERMISSIONS;

const rank = (role: Role): number => ROLES.indexOf(role);

export function authorize(role: Role, permission: Permission): Result<true> {
  const needed = PERMISSIONS[permission];
  if (rank(role) >= rank(needed)) return ok(true);
  return fail(
    'auth.forbidden',
    `You need the ${needed} role to do that; you are a ${role}. Ask a Vigil admin.`,
    {
      role,
      needed,
      permission,
    },
  );
}
