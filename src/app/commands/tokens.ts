import { randomBytes } from 'node:crypto';
import { type ActingPerson, fail, ok, PersonErrorCode, type Result, type Role } from '../../domain/index.js';
import {
  insertToken,
  listTokens as list,
  revokeTokenRow,
  type TokenView,
} from '../../storage/api-token.repository.js';
import { newTokenSecret, tokenDigest } from '../identity.js';
import { auditPersonChange, type CommandDeps, permit } from './command.js';

/** Days a personal token lives unless asked otherwise, and at most. */
export const TOKEN_DAYS = { default: 90, max: 365 } as const;

export interface CreateToken {
  readonly name: string;
  readonly expiresInDays?: number | undefined;
}

/**
 * A personal API token for the person asking, for themselves only: shown once (only its SHA-256
 * is kept), expiring, acting with its person's role at the time of use but never more than the
 * role they act with now. One made with another token expires with it at the latest and is
 * revoked with it. The API service mints none: they would outlive a rotation of VIGIL_API_TOKEN.
 */
export async function createToken(
  deps: CommandDeps,
  person: ActingPerson,
  command: CreateToken,
): Promise<Result<{ readonly token: string; readonly view: TokenView }>> {
  const allowed = await permit(deps, person, 'alert.view', { alertId: null, action: 'token.create_refused' });
  if (!allowed.ok) return allowed;
  const { credential } = person;
  if (credential?.kind === 'service')
    return fail(
      PersonErrorCode.ServiceToken,
      'The API service cannot create personal tokens; create yours with /vigil token, as yourself.',
    );
  const days = Math.min(command.expiresInDays ?? TOKEN_DAYS.default, TOKEN_DAYS.max);
  const now = deps.clock.now();
  const asked = now.getTime() + days * 86_400_000;
  const expiresAt = new Date(
    credential?.kind === 'token' ? Math.min(asked, credential.expiresAt.getTime()) : asked,
  );
  const token = newTokenSecret(randomBytes(32));
  const roleCap: Role = person.role;
  const view = await deps.handle.db.transaction().execute(async (trx) => {
    const created = await insertToken(trx, {
      personId: person.personId,
      parentId: credential?.kind === 'token' ? credential.tokenId : null,
      name: command.name,
      hash: tokenDigest(token),
      roleCap,
      expiresAt,
    });
    await auditPersonChange(
      trx,
      deps,
      person,
      'token.created',
      {
        tokenId: created.id,
        name: command.name,
        roleCap,
        expiresAt: created.expiresAt.toISOString(),
      },
      now,
    );
    return created;
  });
  return ok({ token, view });
}

/** Revokes one of the asking person's own tokens. */
export async function revokeToken(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly tokenId: string },
): Promise<Result<true>> {
  return deps.handle.db.transaction().execute(async (trx) => {
    if (!(await revokeTokenRow(trx, person.personId, command.tokenId)))
      return fail(PersonErrorCode.TokenNotFound, `You have no live token ${command.tokenId}.`);
    await auditPersonChange(trx, deps, person, 'token.revoked', { tokenId: command.tokenId });
    return ok(true);
  });
}

/** The asking person's own tokens (never the secrets). */
export const listTokens = (deps: CommandDeps, person: ActingPerson): Promise<TokenView[]> =>
  list(deps.handle.db, person.personId);
