import { sql } from 'kysely';
import { type Actor, actorKey, type Role } from '../domain/index.js';
import type { Db } from './db.js';

/** Who the first admins are and what everyone else is until granted more (VIGIL_ADMINS, VIGIL_DEFAULT_ROLE). */
export interface RolePolicy {
  readonly admins: readonly string[];
  readonly defaultRole: Role;
}

/** An identity with what its person is now. */
export interface IdentityRecord {
  readonly key: string;
  readonly personId: string;
  readonly personKind: 'person' | 'service';
  readonly displayName: string | null;
  readonly role: Role | null;
  /** The role the identity provider's claim mapped to at the last sign-in. */
  readonly claimedRole: Role | null;
  readonly disabled: boolean;
  readonly revoked: boolean;
  /** Its e-mail was never looked up nor asked for (see identity-email.repository.ts). */
  readonly lookupDue: boolean;
}

const identityColumns = [
  'i.key',
  'i.person_id',
  'i.revoked_at',
  'p.kind',
  'p.display_name',
  'p.role',
  'p.claimed_role',
  'p.disabled_at',
  sql<boolean>`i.email_looked_up_at IS NULL AND i.email_lookup_queued_at IS NULL`.as('lookup_due'),
] as const;

type IdentityRow = {
  key: string;
  person_id: string;
  revoked_at: Date | null;
  kind: string;
  display_name: string | null;
  role: string | null;
  claimed_role: string | null;
  disabled_at: Date | null;
  lookup_due: boolean;
};

const toIdentity = (row: IdentityRow): IdentityRecord => ({
  key: row.key,
  personId: row.person_id,
  personKind: row.kind === 'service' ? 'service' : 'person',
  displayName: row.display_name,
  role: row.role as Role | null,
  claimedRole: row.claimed_role as Role | null,
  disabled: row.disabled_at !== null,
  revoked: row.revoked_at !== null,
  lookupDue: row.lookup_due,
});

/** The first of `keys` (most specific first) that is a known identity, with its person. */
export async function findIdentity(db: Db, keys: readonly string[]): Promise<IdentityRecord | null> {
  if (keys.length === 0) return null;
  const rows = await db
    .selectFrom('person_identities as i')
    .innerJoin('persons as p', 'p.id', 'i.person_id')
    .select(identityColumns)
    .where('i.key', 'in', keys)
    .execute();
  const best = rows.sort((a, b) => keys.indexOf(a.key) - keys.indexOf(b.key))[0];
  return best === undefined ? null : toIdentity(best);
}

/**
 * A person for an identity seen for the first time, with no role of their own yet. Two first
 * clicks at once make one person: the identity key is unique, and the loser's person is dropped.
 */
export async function createPersonFor(db: Db, key: string, name: string | null): Promise<IdentityRecord> {
  await db.transaction().execute(async (trx) => {
    const person = await trx
      .insertInto('persons')
      .values({ display_name: name })
      .returning('id')
      .executeTakeFirstOrThrow();
    const inserted = await trx
      .insertInto('person_identities')
      .values({ key, person_id: person.id, display_name: name })
      .onConflict((oc) => oc.column('key').doNothing())
      .returning('key')
      .executeTakeFirst();
    if (inserted === undefined) await trx.deleteFrom('persons').where('id', '=', person.id).execute();
  });
  const found = await findIdentity(db, [key]);
  if (found === null) throw new Error(`identity ${key} vanished after it was created`);
  return found;
}

/**
 * Adds the full key of an identity recorded before Vigil knew its workspace or tenant
 * (`slack:T01:U0123` beside `slack:U0123`) on its first use that names one; the short key stays,
 * since audit rows and VIGIL_ADMINS name it.
 */
export async function addFullIdentityKey(db: Db, short: string, full: string): Promise<void> {
  await sql`INSERT INTO person_identities (key, person_id, display_name, linked_by)
    SELECT ${full}, person_id, display_name, 'vigil' FROM person_identities WHERE key = ${short}
    ON CONFLICT (key) DO NOTHING`.execute(db);
}

/** Records a name the platform reports for a person who has none yet, or a changed one. */
export async function rememberName(db: Db, personId: string, key: string, name: string): Promise<void> {
  await db
    .updateTable('persons')
    .set({ display_name: name, updated_at: sql`now()` })
    .where('id', '=', personId)
    .execute();
  await db.updateTable('person_identities').set({ display_name: name }).where('key', '=', key).execute();
}

/** A person with their identities and tokens, as admins and the API see them. */
export interface PersonView {
  readonly id: string;
  readonly kind: 'person' | 'service';
  readonly displayName: string | null;
  readonly role: Role | null;
  readonly disabledAt: Date | null;
  readonly identities: readonly { readonly key: string; readonly revokedAt: Date | null }[];
}

/** A person in the admins' list: their roles as recorded, and every identity with its e-mail. */
export interface PersonListItem {
  readonly id: string;
  readonly kind: 'person' | 'service';
  readonly displayName: string | null;
  readonly role: Role | null;
  readonly claimedRole: Role | null;
  readonly disabledAt: Date | null;
  readonly identities: readonly {
    readonly key: string;
    readonly email: string | null;
    readonly revokedAt: Date | null;
    readonly linkedBy: string | null;
  }[];
}

/** Everyone (people merged into another left out), by name, at most `limit`. */
export async function listPeople(db: Db, limit: number): Promise<PersonListItem[]> {
  const people = await db
    .selectFrom('persons')
    .select(['id', 'kind', 'display_name', 'role', 'claimed_role', 'disabled_at'])
    .where('merged_into', 'is', null)
    .orderBy(sql`lower(display_name)`)
    .orderBy('created_at')
    .limit(limit)
    .execute();
  if (people.length === 0) return [];
  const identities = await db
    .selectFrom('person_identities')
    .select(['person_id', 'key', 'email', 'revoked_at', 'linked_by'])
    .where(
      'person_id',
      'in',
      people.map((person) => person.id),
    )
    .orderBy('created_at')
    .execute();
  return people.map((person) => ({
    id: person.id,
    kind: person.kind === 'service' ? 'service' : 'person',
    displayName: person.display_name,
    role: person.role as Role | null,
    claimedRole: person.claimed_role as Role | null,
    disabledAt: person.disabled_at,
    identities: identities
      .filter((identity) => identity.person_id === person.id)
      .map((identity) => ({
        key: identity.key,
        email: identity.email,
        revokedAt: identity.revoked_at,
        linkedBy: identity.linked_by,
      })),
  }));
}

export async function getPerson(db: Db, personId: string): Promise<PersonView | null> {
  if (!/^[0-9a-f-]{36}$/i.test(personId)) return null;
  const person = await db.selectFrom('persons').selectAll().where('id', '=', personId).executeTakeFirst();
  if (person === undefined) return null;
  const identities = await db
    .selectFrom('person_identities')
    .select(['key', 'revoked_at'])
    .where('person_id', '=', personId)
    .orderBy('created_at')
    .execute();
  return {
    id: person.id,
    kind: person.kind === 'service' ? 'service' : 'person',
    displayName: person.display_name,
    role: person.role as Role | null,
    disabledAt: person.disabled_at,
    identities: identities.map((row) => ({ key: row.key, revokedAt: row.revoked_at })),
  };
}

/** Sets a person's role; returns the one they had. Call inside the command's transaction. */
export async function setRole(trx: Db, personId: string, role: Role, by: Actor): Promise<Role | null> {
  const previous = await trx
    .selectFrom('persons')
    .select('role')
    .where('id', '=', personId)
    .forUpdate()
    .executeTakeFirst();
  await trx
    .updateTable('persons')
    .set({ role, role_granted_by: actorKey(by), updated_at: sql`now()` })
    .where('id', '=', personId)
    .execute();
  return (previous?.role as Role | null | undefined) ?? null;
}

/** Identities a person has that still act. */
export async function liveIdentityKeys(trx: Db, personId: string): Promise<string[]> {
  const rows = await trx
    .selectFrom('person_identities')
    .select('key')
    .where('person_id', '=', personId)
    .where('revoked_at', 'is', null)
    .execute();
  return rows.map((row) => row.key);
}

/**
 * Moves everything recorded for person `from` to person `into`: identities, tokens, and the
 * requester and approver keys the approval rules compare. The audit trail is append-only: `from`
 * stays as a row pointing at `into`. Call inside the command's transaction, after checking that
 * the two never decided on the same action.
 */
export async function mergePersonInto(trx: Db, from: string, into: string): Promise<void> {
  const fromKey = `person:${from}`;
  const intoKey = `person:${into}`;
  await trx.updateTable('person_identities').set({ person_id: into }).where('person_id', '=', from).execute();
  await trx.updateTable('api_tokens').set({ person_id: into }).where('person_id', '=', from).execute();
  await trx.updateTable('console_sessions').set({ person_id: into }).where('person_id', '=', from).execute();
  await trx
    .updateTable('investigations')
    .set({ started_by_key: intoKey })
    .where('started_by_key', '=', fromKey)
    .execute();
  await trx
    .updateTable('actions')
    .set({ requested_by_key: intoKey })
    .where('requested_by_key', '=', fromKey)
    .execute();
  await trx
    .updateTable('action_decisions')
    .set({ approver_key: intoKey })
    .where('approver_key', '=', fromKey)
    .execute();
  await trx
    .updateTable('persons')
    .set({ merged_into: into, role: null, updated_at: sql`now()` })
    .where('id', '=', from)
    .execute();
}

/** Actions on which both people decided: linking them would count one person twice. */
export async function sharedDecisions(trx: Db, a: string, b: string): Promise<string[]> {
  const rows = await trx
    .selectFrom('action_decisions as x')
    .innerJoin('action_decisions as y', 'y.action_id', 'x.action_id')
    .select('x.action_id')
    .where('x.approver_key', '=', `person:${a}`)
    .where('y.approver_key', '=', `person:${b}`)
    .execute();
  return rows.map((row) => row.action_id);
}

/** Attaches an identity to a person (a new one, or one unlinked earlier), live. */
export async function attachIdentity(trx: Db, key: string, personId: string, by: Actor): Promise<void> {
  await trx
    .insertInto('person_identities')
    .values({ key, person_id: personId, linked_by: actorKey(by) })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({ person_id: personId, linked_by: actorKey(by), revoked_at: null }),
    )
    .execute();
}

/** Unlinks one identity: it stays on record (the trail names it) but can no longer act. */
export async function revokeIdentity(trx: Db, key: string, personId: string): Promise<string | null> {
  const row = await trx
    .updateTable('person_identities')
    .set({ revoked_at: sql`now()` })
    .where('key', '=', key)
    .where('person_id', '=', personId)
    .where('revoked_at', 'is', null)
    .returning('person_id')
    .executeTakeFirst();
  if (row === undefined) return null;
  // Console sessions signed in with it end too; linking it again does not bring them back.
  await trx
    .updateTable('console_sessions')
    .set({ revoked_at: sql`now()` })
    .where('identity_key', '=', key)
    .where('revoked_at', 'is', null)
    .execute();
  // The identity provider's word on the role goes with the provider's identity.
  if (key.startsWith('oidc:'))
    await trx.updateTable('persons').set({ claimed_role: null }).where('id', '=', personId).execute();
  return row.person_id;
}

/** Offboarding: the person, every identity, every token and every console session stop acting at once. */
export async function disablePersonRows(trx: Db, personId: string, by: Actor): Promise<boolean> {
  const person = await trx
    .updateTable('persons')
    .set({ disabled_at: sql`now()`, disabled_by: actorKey(by), updated_at: sql`now()` })
    .where('id', '=', personId)
    .where('disabled_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  if (person === undefined) return false;
  await trx
    .updateTable('person_identities')
    .set({ revoked_at: sql`now()` })
    .where('person_id', '=', personId)
    .where('revoked_at', 'is', null)
    .execute();
  await trx
    .updateTable('api_tokens')
    .set({ revoked_at: sql`now()` })
    .where('person_id', '=', personId)
    .where('revoked_at', 'is', null)
    .execute();
  await trx
    .updateTable('console_sessions')
    .set({ revoked_at: sql`now()` })
    .where('person_id', '=', personId)
    .where('revoked_at', 'is', null)
    .execute();
  return true;
}

/**
 * What a credential lookup joined to `persons as p` reads of the person behind it: name, roles
 * and live identity keys (sessions and API tokens alike).
 */
export const credentialPersonColumns = [
  'p.display_name',
  'p.role',
  'p.claimed_role',
  sql<
    string[]
  >`array(SELECT key FROM person_identities l WHERE l.person_id = p.id AND l.revoked_at IS NULL)`.as('keys'),
] as const;

/** Those columns as the holder of a session or token carries them. */
export const credentialPerson = (row: {
  readonly display_name: string | null;
  readonly role: string | null;
  readonly claimed_role: string | null;
  readonly keys: string[];
}) => ({
  displayName: row.display_name,
  role: row.role as Role | null,
  claimedRole: row.claimed_role as Role | null,
  identityKeys: row.keys,
});
