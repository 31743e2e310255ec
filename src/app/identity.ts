import { createHash } from 'node:crypto';
import {
  type ActingPerson,
  fail,
  identityKeys,
  ok,
  PersonErrorCode,
  type Result,
  roleFrom,
  type UserActor,
} from '../domain/index.js';
import { findLiveToken, touchToken } from '../storage/api-token.repository.js';
import type { Db } from '../storage/db.js';
import { type LookupHint, queueEmailLookup } from '../storage/identity-email.repository.js';
import {
  addFullIdentityKey,
  createPersonFor,
  findIdentity,
  type RolePolicy,
  rememberName,
} from '../storage/person.repository.js';

/** The identity key of the one service VIGIL_API_TOKEN acts as. */
export const SERVICE_API_KEY = 'service:api';

const TOKEN_PREFIX = 'vgl_';

/** Personal tokens are stored as this digest only: they are long random strings, so no salt is needed. */
export const tokenDigest = (token: string): string => createHash('sha256').update(token).digest('hex');

export const looksLikePersonalToken = (token: string): boolean => token.startsWith(TOKEN_PREFIX);

export const newTokenSecret = (random: Buffer): string => `${TOKEN_PREFIX}${random.toString('base64url')}`;

/**
 * The person behind a chat identity (Slack, Teams, an OIDC subject), met for the first time or
 * not: one query for a known identity, as reading a role cost before persons existed. A revoked
 * identity or a disabled person is refused. With `lookup` (where the platform can be asked), an
 * identity whose e-mail was never looked up gets its lookup queued, once: the job asks the
 * platform after this answer, never before it.
 */
export async function identify(
  db: Db,
  actor: UserActor,
  policy: RolePolicy,
  lookup?: LookupHint,
): Promise<Result<ActingPerson>> {
  const keys = identityKeys(actor);
  const [key] = keys;
  if (key === undefined) throw new Error('an identity has at least one key');
  let found = await findIdentity(db, keys);
  if (found === null) {
    found = await createPersonFor(db, key, actor.name ?? null);
  } else if (found.key !== key) {
    await addFullIdentityKey(db, found.key, key);
  }
  if (found.revoked || found.disabled) return refused(found.disabled);
  if (lookup !== undefined && found.lookupDue) await queueEmailLookup(db, key, lookup);
  if (actor.name !== undefined && actor.name !== '' && actor.name !== found.displayName) {
    await rememberName(db, found.personId, key, actor.name);
  }
  const role = roleFrom({
    listedAdmin: keys.some((candidate) => policy.admins.includes(candidate)),
    granted: found.role,
    claimed: found.claimedRole,
    defaultRole: policy.defaultRole,
  });
  return ok({ personId: found.personId, role, actor: { ...actor, personId: found.personId } });
}

const refused = (disabled: boolean) =>
  disabled
    ? fail(PersonErrorCode.Disabled, 'Your access to Vigil has been disabled; ask a Vigil admin.')
    : fail(
        PersonErrorCode.IdentityRevoked,
        'This account was unlinked from its Vigil person and can no longer act; ask a Vigil admin.',
      );

/** The API service (VIGIL_API_TOKEN): one person, an admin unless an admin disabled it. */
export async function identifyService(db: Db): Promise<Result<ActingPerson>> {
  const found = await findIdentity(db, [SERVICE_API_KEY]);
  if (found === null) throw new Error('the API service identity is missing; run the migrations');
  if (found.revoked || found.disabled) return refused(found.disabled);
  return ok({
    personId: found.personId,
    role: found.role ?? 'admin',
    actor: {
      kind: 'user',
      platform: 'api',
      id: 'service',
      name: found.displayName ?? 'API service',
      personId: found.personId,
    },
    credential: { kind: 'service' },
  });
}

/**
 * The person behind a personal API token: their current role, capped at the role the token was
 * created with. Null for an unknown, expired or revoked token, or a disabled person.
 */
export async function identifyToken(db: Db, token: string, policy: RolePolicy): Promise<ActingPerson | null> {
  const holder = await findLiveToken(db, tokenDigest(token));
  if (holder === null) return null;
  const minuteAgo = Date.now() - 60_000;
  if (holder.lastUsedAt === null || holder.lastUsedAt.getTime() < minuteAgo)
    await touchToken(db, holder.tokenId);
  const role = roleFrom({
    listedAdmin: holder.identityKeys.some((key) => policy.admins.includes(key)),
    granted: holder.role,
    claimed: holder.claimedRole,
    defaultRole: policy.defaultRole,
    cap: holder.roleCap,
  });
  return {
    personId: holder.personId,
    role,
    actor: {
      kind: 'user',
      platform: 'api',
      id: `token:${holder.tokenId}`,
      ...(holder.displayName === null ? {} : { name: holder.displayName }),
      personId: holder.personId,
    },
    credential: { kind: 'token', tokenId: holder.tokenId, expiresAt: holder.expiresAt },
  };
}
