import { sql } from 'kysely';
import type { Role } from '../domain/index.js';
import type { Db } from './db.js';
import { credentialPerson, credentialPersonColumns } from './person.repository.js';

/** A personal token as its owner sees it: never the token itself, which is shown once. */
export interface TokenView {
  readonly id: string;
  readonly name: string;
  readonly roleCap: Role;
  readonly expiresAt: Date;
  readonly revokedAt: Date | null;
  readonly lastUsedAt: Date | null;
  readonly createdAt: Date;
}

const toView = (row: {
  id: string;
  name: string;
  role_cap: string;
  expires_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
  created_at: Date;
}): TokenView => ({
  id: row.id,
  name: row.name,
  roleCap: row.role_cap as Role,
  expiresAt: row.expires_at,
  revokedAt: row.revoked_at,
  lastUsedAt: row.last_used_at,
  createdAt: row.created_at,
});

const viewColumns = [
  'id',
  'name',
  'role_cap',
  'expires_at',
  'revoked_at',
  'last_used_at',
  'created_at',
] as const;

export async function insertToken(
  trx: Db,
  token: {
    personId: string;
    parentId: string | null;
    name: string;
    hash: string;
    roleCap: Role;
    expiresAt: Date;
  },
): Promise<TokenView> {
  const row = await trx
    .insertInto('api_tokens')
    .values({
      person_id: token.personId,
      parent_id: token.parentId,
      name: token.name,
      token_hash: token.hash,
      role_cap: token.roleCap,
      expires_at: token.expiresAt,
    })
    .returning(viewColumns)
    .executeTakeFirstOrThrow();
  return toView(row);
}

export async function listTokens(db: Db, personId: string): Promise<TokenView[]> {
  const rows = await db
    .selectFrom('api_tokens')
    .select(viewColumns)
    .where('person_id', '=', personId)
    .orderBy('created_at', 'desc')
    .execute();
  return rows.map(toView);
}

/**
 * Revokes one of a person's tokens and every token created with it (a leaked token cannot leave
 * heirs behind); false when they have no such live token.
 */
export async function revokeTokenRow(trx: Db, personId: string, tokenId: string): Promise<boolean> {
  if (!/^[0-9a-f-]{36}$/i.test(tokenId)) return false;
  const revoked = await sql<{ id: string }>`
    WITH RECURSIVE tree AS (
      SELECT id FROM api_tokens WHERE id = ${tokenId} AND person_id = ${personId} AND revoked_at IS NULL
      UNION SELECT t.id FROM api_tokens t JOIN tree ON t.parent_id = tree.id
    )
    UPDATE api_tokens SET revoked_at = now() WHERE id IN (SELECT id FROM tree) AND revoked_at IS NULL
    RETURNING id`.execute(trx);
  return revoked.rows.some((row) => row.id === tokenId);
}

/** A live token by its hash, with what its person is now and their live identity keys. */
export interface TokenHolder {
  readonly tokenId: string;
  readonly personId: string;
  readonly displayName: string | null;
  readonly role: Role | null;
  readonly claimedRole: Role | null;
  readonly roleCap: Role;
  readonly identityKeys: readonly string[];
  readonly lastUsedAt: Date | null;
  readonly expiresAt: Date;
}

export async function findLiveToken(db: Db, hash: string): Promise<TokenHolder | null> {
  const row = await db
    .selectFrom('api_tokens as t')
    .innerJoin('persons as p', 'p.id', 't.person_id')
    .select([
      't.id',
      't.person_id',
      't.role_cap',
      't.last_used_at',
      't.expires_at',
      ...credentialPersonColumns,
    ])
    .where('t.token_hash', '=', hash)
    .where('t.revoked_at', 'is', null)
    .where('t.expires_at', '>', sql<Date>`now()`)
    .where('p.disabled_at', 'is', null)
    .executeTakeFirst();
  if (row === undefined) return null;
  return {
    tokenId: row.id,
    personId: row.person_id,
    ...credentialPerson(row),
    roleCap: row.role_cap as Role,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
  };
}

/** Records a token's use, at most once a minute (a write per API call would cost more than it tells). */
export async function touchToken(db: Db, tokenId: string): Promise<void> {
  await db
    .updateTable('api_tokens')
    .set({ last_used_at: sql`now()` })
    .where('id', '=', tokenId)
    .where((eb) =>
      eb.or([
        eb('last_used_at', 'is', null),
        eb('last_used_at', '<', sql<Date>`now() - interval '1 minute'`),
      ]),
    )
    .execute();
}
