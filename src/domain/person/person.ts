import type { Actor } from '../actor.js';
import { ROLES, type Role } from '../roles.js';

export type UserActor = Extract<Actor, { kind: 'user' }>;

/**
 * A person acting in Vigil, whatever the surface: who they are (`personId`, the unit every
 * permission and approval rule looks at), the role they act with now, and the identity they used
 * (named in the audit trail).
 */
export interface ActingPerson {
  readonly personId: string;
  readonly role: Role;
  /** The identity used, carrying `personId`. */
  readonly actor: UserActor;
  /** Acting through a credential rather than a chat platform: the API service, or a personal token. */
  readonly credential?:
    | { readonly kind: 'service' }
    | { readonly kind: 'token'; readonly tokenId: string; readonly expiresAt: Date };
}

/**
 * The keys an identity is stored under: `slack:<team>:<user>` and `teams:<tenant>:<object ID>`
 * when the platform names the workspace or tenant, and the older `slack:<user>` / `teams:<object
 * ID>` form that VIGIL_ADMINS and people recorded before persons existed use. Most specific first.
 */
export function identityKeys(actor: Pick<UserActor, 'platform' | 'id' | 'tenant'>): readonly string[] {
  const short = `${actor.platform}:${actor.id}`;
  return actor.tenant === undefined || actor.tenant === ''
    ? [short]
    : [`${actor.platform}:${actor.tenant}:${actor.id}`, short];
}

/**
 * The older short form of a full Slack or Teams identity key (`slack:T01:U0123` → `slack:U0123`),
 * under which the same account may be recorded; null for other keys.
 */
export function shortIdentityKey(key: string): string | null {
  const match = /^(slack|teams):[^:]+:([^:]+)$/.exec(key);
  return match === null ? null : `${match[1]}:${match[2]}`;
}

/** What decides a person's role, most authoritative first. */
export interface RoleSources {
  /** VIGIL_ADMINS names one of the person's identities. */
  readonly listedAdmin: boolean;
  /** The role an admin granted in Vigil. */
  readonly granted: Role | null;
  /** The role mapped from the identity provider's claim (VIGIL_OIDC_ROLE_CLAIM). */
  readonly claimed: Role | null;
  /** VIGIL_DEFAULT_ROLE. */
  readonly defaultRole: Role;
  /** A personal token acts with at most the role it was created with. */
  readonly cap?: Role | undefined;
}

const rank = (role: Role): number => ROLES.indexOf(role);

/** The lesser of two roles. */
export const lesserRole = (a: Role, b: Role): Role => (rank(a) <= rank(b) ? a : b);

/**
 * The one role rule: VIGIL_ADMINS are always admins; otherwise a role granted in Vigil; otherwise
 * the role the identity provider's claim maps to; otherwise the default. A token caps the result.
 */
export function roleFrom(sources: RoleSources): Role {
  const role = sources.listedAdmin ? 'admin' : (sources.granted ?? sources.claimed ?? sources.defaultRole);
  return sources.cap === undefined ? role : lesserRole(role, sources.cap);
}

export const PersonErrorCode = {
  Disabled: 'person.disabled',
  IdentityRevoked: 'person.identity_revoked',
  NotFound: 'person.not_found',
  LinkConflict: 'person.link_conflict',
  TokenNotFound: 'token.not_found',
  ServiceToken: 'token.service_refused',
} as const;
