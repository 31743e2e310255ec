import { sql } from 'kysely';
import type { DirectoryEntry, IdentityLookupMessage } from '../domain/index.js';
import type { Db } from './db.js';
import { appendOutbox } from './outbox.repository.js';

export type LookupHint = Omit<IdentityLookupMessage['payload'], 'key'>;

/**
 * Asks for the identity's e-mail lookup, once: the first time it is seen (or the first time since
 * this feature came), one row is marked and one outbox message written, in one transaction.
 */
export async function queueEmailLookup(db: Db, key: string, hint: LookupHint): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const marked = await trx
      .updateTable('person_identities')
      .set({ email_lookup_queued_at: sql`now()` })
      .where('key', '=', key)
      .where('email_looked_up_at', 'is', null)
      .where('email_lookup_queued_at', 'is', null)
      .returning('key')
      .executeTakeFirst();
    if (marked !== undefined)
      await appendOutbox(trx, [{ topic: 'identity_lookup', payload: { key, ...hint } }]);
  });
}

/** An identity as the lookup job finds it. */
export interface LookupSubject {
  readonly key: string;
  readonly personId: string;
  readonly lookedUp: boolean;
  readonly revoked: boolean;
}

export async function lookupSubject(db: Db, key: string): Promise<LookupSubject | null> {
  const row = await db
    .selectFrom('person_identities')
    .select(['key', 'person_id', 'email_looked_up_at', 'revoked_at'])
    .where('key', '=', key)
    .executeTakeFirst();
  return row === undefined
    ? null
    : {
        key: row.key,
        personId: row.person_id,
        lookedUp: row.email_looked_up_at !== null,
        revoked: row.revoked_at !== null,
      };
}

/**
 * Caches what the platform said of the identity (all the keys it is stored under), so it is never
 * asked again; a UPN the platform told is kept for Graph's `assignedTo`.
 */
export async function recordDirectoryEntry(
  trx: Db,
  keys: readonly string[],
  entry: DirectoryEntry,
  at: Date,
): Promise<void> {
  await trx
    .updateTable('person_identities')
    .set({
      email: entry.email,
      email_verified: entry.verified,
      auto_link_refusal: entry.refusal,
      email_looked_up_at: at,
      ...(entry.upn === undefined || entry.upn === null ? {} : { upn: entry.upn }),
    })
    .where('key', 'in', [...keys])
    .execute();
}

/** An identity's cached e-mail and whether it may link by it. */
export interface EmailOf {
  readonly key: string;
  readonly personId: string;
  readonly email: string | null;
  readonly verified: boolean;
  readonly refusal: string | null;
}

export async function emailOf(trx: Db, key: string): Promise<EmailOf | null> {
  const row = await trx
    .selectFrom('person_identities')
    .select(['key', 'person_id', 'email', 'email_verified', 'auto_link_refusal'])
    .where('key', '=', key)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row === undefined
    ? null
    : {
        key: row.key,
        personId: row.person_id,
        email: row.email,
        verified: row.email_verified,
        refusal: row.auto_link_refusal,
      };
}

/**
 * Live identities of other people, active and not services, whose verified address is `email`
 * (compared without case, as identity providers do) and who may link by it.
 */
export async function sameEmailElsewhere(
  trx: Db,
  email: string,
  personId: string,
): Promise<{ key: string; personId: string }[]> {
  return trx
    .selectFrom('person_identities as i')
    .innerJoin('persons as p', 'p.id', 'i.person_id')
    .select(['i.key', 'i.person_id as personId'])
    .where(sql<boolean>`lower(i.email) = lower(${email})`)
    .where('i.email_verified', '=', true)
    .where('i.auto_link_refusal', 'is', null)
    .where('i.revoked_at', 'is', null)
    .where('i.person_id', '<>', personId)
    .where('p.kind', '=', 'person')
    .where('p.disabled_at', 'is', null)
    .where('p.merged_into', 'is', null)
    .orderBy('i.created_at')
    .execute();
}

/**
 * What an OpenID Connect sign-in's claims said of the e-mail, recorded at the first sign-in with
 * them, with the linking job (which then asks nobody) in the same transaction.
 */
export async function recordSignInEmail(db: Db, key: string, entry: DirectoryEntry, at: Date): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const marked = await trx
      .updateTable('person_identities')
      .set({
        email: entry.email,
        email_verified: entry.verified,
        auto_link_refusal: entry.refusal,
        email_looked_up_at: at,
        email_lookup_queued_at: at,
      })
      .where('key', '=', key)
      .where('email_looked_up_at', 'is', null)
      .returning('key')
      .executeTakeFirst();
    if (marked !== undefined) await appendOutbox(trx, [{ topic: 'identity_lookup', payload: { key } }]);
  });
}
