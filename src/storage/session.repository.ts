import { sql } from 'kysely';
import type { Role } from '../domain/index.js';
import type { Db } from './db.js';
import { credentialPerson, credentialPersonColumns } from './person.repository.js';

/** A console sign-in under way, as the callback needs it. */
export interface PendingLogin {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly returnTo: string;
}

export async function insertLogin(
  db: Db,
  login: PendingLogin & { readonly idHash: string; readonly expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('oidc_logins')
    .values({
      id_hash: login.idHash,
      state: login.state,
      nonce: login.nonce,
      code_verifier: login.codeVerifier,
      return_to: login.returnTo,
      expires_at: login.expiresAt,
    })
    .execute();
  // Sign-ins abandoned at the provider are not worth keeping.
  await db.deleteFrom('oidc_logins').where('expires_at', '<', sql<Date>`now()`).execute();
}

/** Takes a sign-in under way (once: a replayed callback finds nothing); null when unknown or expired. */
export async function takeLogin(db: Db, idHash: string): Promise<PendingLogin | null> {
  const row = await db
    .deleteFrom('oidc_logins')
    .where('id_hash', '=', idHash)
    .returningAll()
    .executeTakeFirst();
  if (row === undefined || row.expires_at.getTime() <= Date.now()) return null;
  return { state: row.state, nonce: row.nonce, codeVerifier: row.code_verifier, returnTo: row.return_to };
}

/** Records the role the provider's claim maps to now (null: it names none). In the sign-in's transaction. */
export async function setClaimedRole(trx: Db, personId: string, role: Role | null): Promise<void> {
  await trx
    .updateTable('persons')
    .set({ claimed_role: role, updated_at: sql`now()` })
    .where('id', '=', personId)
    .execute();
}

export async function insertSession(
  trx: Db,
  session: { idHash: string; personId: string; identityKey: string; expiresAt: Date },
): Promise<string> {
  const row = await trx
    .insertInto('console_sessions')
    .values({
      id_hash: session.idHash,
      person_id: session.personId,
      identity_key: session.identityKey,
      expires_at: session.expiresAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** A live session with what its person is now. */
export interface SessionHolder {
  readonly sessionId: string;
  readonly personId: string;
  readonly identityKey: string;
  readonly displayName: string | null;
  readonly role: Role | null;
  readonly claimedRole: Role | null;
  readonly identityKeys: readonly string[];
}

/**
 * The session behind a cookie, in one query: null when it is unknown, expired or ended, when its
 * identity was unlinked or its person disabled.
 */
export async function findLiveSession(db: Db, idHash: string): Promise<SessionHolder | null> {
  const row = await db
    .selectFrom('console_sessions as s')
    .innerJoin('persons as p', 'p.id', 's.person_id')
    .innerJoin('person_identities as i', 'i.key', 's.identity_key')
    .select(['s.id', 's.person_id', 's.identity_key', ...credentialPersonColumns])
    .where('s.id_hash', '=', idHash)
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', sql<Date>`now()`)
    .where('p.disabled_at', 'is', null)
    .where('i.revoked_at', 'is', null)
    .whereRef('i.person_id', '=', 's.person_id')
    .executeTakeFirst();
  if (row === undefined) return null;
  return {
    sessionId: row.id,
    personId: row.person_id,
    identityKey: row.identity_key,
    ...credentialPerson(row),
  };
}

/** Ends a session (sign-out); false when it had already ended. */
export async function revokeSession(
  trx: Db,
  idHash: string,
): Promise<{ id: string; personId: string } | null> {
  const row = await trx
    .updateTable('console_sessions')
    .set({ revoked_at: sql`now()` })
    .where('id_hash', '=', idHash)
    .where('revoked_at', 'is', null)
    .returning(['id', 'person_id'])
    .executeTakeFirst();
  return row === undefined ? null : { id: row.id, personId: row.person_id };
}
