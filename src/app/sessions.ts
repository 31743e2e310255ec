import { createHash, randomBytes } from 'node:crypto';
import {
  type ActingPerson,
  type DirectoryEntry,
  fail,
  oidcIdentityKey,
  ok,
  PersonErrorCode,
  type Result,
  type Role,
  roleFrom,
} from '../domain/index.js';
import { recordSignInEmail } from '../storage/identity-email.repository.js';
import type { RolePolicy } from '../storage/person.repository.js';
import {
  findLiveSession,
  insertSession,
  revokeSession,
  setClaimedRole,
} from '../storage/session.repository.js';
import { auditPersonChange, type CommandDeps } from './commands/command.js';
import { identify } from './identity.js';

/** Session and login cookies are random secrets kept only as this digest. */
export const secretDigest = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export const newSecret = (): string => randomBytes(32).toString('base64url');

/**
 * The CSRF token of a session: derived from the session secret (which it does not reveal), so
 * nothing more is stored and every process can check it.
 */
export const csrfTokenOf = (sessionSecret: string): string =>
  createHash('sha256').update(`csrf:${sessionSecret}`).digest('base64url');

/** What the identity provider vouched for, from the ID token (and UserInfo). */
export interface VerifiedSignIn {
  readonly issuer: string;
  readonly subject: string;
  readonly name: string | undefined;
  /** The role VIGIL_OIDC_ROLE_CLAIM maps to; null when it names none (or is not configured). */
  readonly claimedRole: Role | null;
  /** What the claims say of the e-mail (`email`, `email_verified`, an Entra token's tenant). */
  readonly email: DirectoryEntry;
}

/**
 * Signs a person in to the console: the OIDC subject's person (made on their first sign-in), the
 * role the provider's claim maps to recorded for the role rule, and a new session. Refused for an
 * unlinked identity or a disabled person. Returns the session secret for the cookie.
 */
export async function signIn(
  deps: CommandDeps & { readonly roles: RolePolicy; readonly sessionHours: number },
  verified: VerifiedSignIn,
): Promise<Result<{ readonly secret: string; readonly person: ActingPerson }>> {
  const found = await identify(
    deps.handle.db,
    {
      kind: 'user',
      platform: 'oidc',
      id: `${verified.issuer}:${verified.subject}`,
      ...(verified.name === undefined ? {} : { name: verified.name }),
    },
    deps.roles,
  );
  if (!found.ok) return found;
  const person = found.value;
  const secret = newSecret();
  const now = deps.clock.now();
  // The first sign-in with this identity records its e-mail and queues its automatic linking.
  await recordSignInEmail(
    deps.handle.db,
    oidcIdentityKey(verified.issuer, verified.subject),
    verified.email,
    now,
  );
  const expiresAt = new Date(now.getTime() + deps.sessionHours * 3_600_000);
  const sessionId = await deps.handle.db.transaction().execute(async (trx) => {
    await setClaimedRole(trx, person.personId, verified.claimedRole);
    const id = await insertSession(trx, {
      idHash: secretDigest(secret),
      personId: person.personId,
      identityKey: oidcIdentityKey(verified.issuer, verified.subject),
      expiresAt,
    });
    await auditPersonChange(
      trx,
      deps,
      person,
      'session.signed_in',
      { sessionId: id, claimedRole: verified.claimedRole, expiresAt: expiresAt.toISOString() },
      now,
    );
    return id;
  });
  // identify() read the role before this sign-in's claim was recorded.
  const signedIn = await identifySession(deps.handle.db, secret, deps.roles);
  if (signedIn === null)
    return fail(PersonErrorCode.SignInFailed, 'The session ended as it began; sign in again.');
  return ok({ secret, person: { ...signedIn, credential: { kind: 'session', sessionId } } });
}

/** The person behind a session cookie, with their role now; null for no live session. */
export async function identifySession(
  db: CommandDeps['handle']['db'],
  secret: string,
  policy: RolePolicy,
): Promise<ActingPerson | null> {
  const holder = await findLiveSession(db, secretDigest(secret));
  if (holder === null) return null;
  const role = roleFrom({
    listedAdmin: holder.identityKeys.some((key) => policy.admins.includes(key)),
    granted: holder.role,
    claimed: holder.claimedRole,
    defaultRole: policy.defaultRole,
  });
  return {
    personId: holder.personId,
    role,
    actor: {
      kind: 'user',
      platform: 'oidc',
      id: holder.identityKey.slice('oidc:'.length),
      ...(holder.displayName === null ? {} : { name: holder.displayName }),
      personId: holder.personId,
    },
    credential: { kind: 'session', sessionId: holder.sessionId },
  };
}

/** Signs out: ends the session (audited); signing out twice changes nothing. */
export async function signOut(deps: CommandDeps, person: ActingPerson, secret: string): Promise<void> {
  await deps.handle.db.transaction().execute(async (trx) => {
    const ended = await revokeSession(trx, secretDigest(secret));
    if (ended === null) return;
    await auditPersonChange(trx, deps, person, 'session.signed_out', { sessionId: ended.id });
  });
}
