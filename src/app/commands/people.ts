import {
  type ActingPerson,
  fail,
  ok,
  PersonErrorCode,
  type Result,
  type Role,
  shortIdentityKey,
} from '../../domain/index.js';
import type { Db } from '../../storage/db.js';
import {
  attachIdentity,
  disablePersonRows,
  findIdentity,
  listPeople as listPeopleRows,
  liveIdentityKeys,
  mergePersonInto,
  type PersonListItem,
  revokeIdentity,
  setRole,
  sharedDecisions,
} from '../../storage/person.repository.js';
import { auditPersonChange, type CommandDeps, permit } from './command.js';

const notFound = (personId: string) => fail(PersonErrorCode.NotFound, `No person ${personId}.`);
const isUuid = (value: string): boolean => /^[0-9a-f-]{36}$/i.test(value);

/** People are managed by admins (a refusal is audited as `refusedAction`), and named by UUID. */
async function permitAdmin(
  deps: CommandDeps,
  person: ActingPerson,
  personId: string,
  refusedAction: string,
  details: Record<string, unknown>,
): Promise<Result<true>> {
  const allowed = await permit(deps, person, 'admin.manage', {
    alertId: null,
    action: refusedAction,
    details,
  });
  if (!allowed.ok) return allowed;
  return isUuid(personId) ? allowed : notFound(personId);
}

/** Everyone Vigil knows, with their identities: admins only (a refusal is audited). */
export async function listPeople(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly limit: number },
): Promise<Result<PersonListItem[]>> {
  const allowed = await permit(deps, person, 'admin.manage', {
    alertId: null,
    action: 'person.list_refused',
  });
  if (!allowed.ok) return allowed;
  return ok(await listPeopleRows(deps.handle.db, command.limit));
}

/** Identity keys an admin may link: a Slack user, a Teams (Entra) user or an OIDC subject. */
export const LINKABLE_KEY = /^(slack|teams|oidc):\S{1,300}$/;

/** Grants a role to a person: admins only; applies to every identity and token of theirs at once. */
export async function grantRole(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly personId: string; readonly role: Role },
): Promise<Result<{ readonly previousRole: Role | null }>> {
  const allowed = await permitAdmin(deps, person, command.personId, 'role.grant_refused', {
    personId: command.personId,
    role: command.role,
  });
  if (!allowed.ok) return allowed;
  return deps.handle.db.transaction().execute(async (trx) => {
    const exists = await trx
      .selectFrom('persons')
      .select('id')
      .where('id', '=', command.personId)
      .executeTakeFirst();
    if (exists === undefined) return notFound(command.personId);
    const previousRole = await setRole(trx, command.personId, command.role, person.actor);
    await auditPersonChange(trx, deps, person, 'role.granted', {
      personId: command.personId,
      role: command.role,
      previousRole,
    });
    return ok({ previousRole });
  });
}

/**
 * Links an identity to a person (admins). An identity Vigil already met as a person of its own
 * (their first click made one) merges into this person with everything recorded for it, so
 * approval rules see one person from then on. Refused when that other person has identities
 * beyond this one (unlink them first) or when both already decided on the same action.
 */
export async function linkIdentity(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly personId: string; readonly key: string },
): Promise<Result<{ readonly merged: boolean }>> {
  const allowed = await permitAdmin(deps, person, command.personId, 'person.link_refused', {
    personId: command.personId,
    key: command.key,
  });
  if (!allowed.ok) return allowed;
  return deps.handle.db.transaction().execute(async (trx) => {
    const target = await trx
      .selectFrom('persons')
      .select(['id', 'kind', 'disabled_at'])
      .where('id', '=', command.personId)
      .forUpdate()
      .executeTakeFirst();
    if (target === undefined) return notFound(command.personId);
    if (target.kind === 'service' || target.disabled_at !== null)
      return fail(
        PersonErrorCode.LinkConflict,
        'Identities cannot be linked to a service or a disabled person.',
      );
    // The account may be known under its older short key (`slack:U0123`): that is the same account.
    const keys = sameAccountKeys(command.key);
    const existing = await findIdentity(trx, keys);
    let merged = false;
    if (existing !== null && existing.personId !== command.personId) {
      if (existing.personKind === 'service')
        return fail(PersonErrorCode.LinkConflict, 'The API service identity cannot be linked to a person.');
      const joined = await mergeSoleIdentity(trx, existing.personId, command.personId, command.key);
      if (!joined.ok) return joined;
      merged = true;
    }
    await attachIdentity(trx, command.key, command.personId, person.actor);
    await auditPersonChange(trx, deps, person, 'person.identity_linked', {
      personId: command.personId,
      key: command.key,
      ...(merged && existing !== null ? { mergedPersonId: existing.personId } : {}),
    });
    return ok({ merged });
  });
}

/** The keys one Slack or Teams account may be stored under: its full key and the older short one. */
export const sameAccountKeys = (key: string): string[] => {
  const short = shortIdentityKey(key);
  return short === null ? [key] : [key, short];
};

/**
 * Merges person `from`, known only by the account `key`, into person `into` (a first click made
 * `from`). Refused when `from` has other identities (unlink them first) or when both already
 * decided on the same action: linking them would count one person twice. Call inside a transaction.
 */
export async function mergeSoleIdentity(
  trx: Db,
  from: string,
  into: string,
  key: string,
): Promise<Result<true>> {
  const keys = sameAccountKeys(key);
  const others = (await liveIdentityKeys(trx, from)).filter((other) => !keys.includes(other));
  if (others.length > 0)
    return fail(
      PersonErrorCode.LinkConflict,
      `${key} belongs to a person who also has ${others.join(', ')}; unlink those first.`,
      { otherIdentities: others },
    );
  const shared = await sharedDecisions(trx, from, into);
  if (shared.length > 0)
    return fail(
      PersonErrorCode.LinkConflict,
      `Both already decided on the same action (${shared.join(', ')}): linking them would count one person twice.`,
      { actionIds: shared },
    );
  await mergePersonInto(trx, from, into);
  return ok(true);
}

/** What a refused lookup of a person by identity is audited as: the command it was for. */
export type IdentityRefusal = 'person.link_refused' | 'person.unlink_refused' | 'role.grant_refused';

/**
 * The person an identity key names, for `link`, `unlink` and `role` typed with a key rather than
 * a Slack mention (Teams): admins only, checked before the lookup so nobody else learns who is known.
 */
export async function personOfIdentity(
  deps: CommandDeps,
  person: ActingPerson,
  command: {
    readonly identity: string;
    readonly refusedAction: IdentityRefusal;
  },
): Promise<Result<string>> {
  const allowed = await permit(deps, person, 'admin.manage', {
    alertId: null,
    action: command.refusedAction,
    details: { identity: command.identity },
  });
  if (!allowed.ok) return allowed;
  const found = await findIdentity(deps.handle.db, sameAccountKeys(command.identity));
  return found === null
    ? fail(PersonErrorCode.NotFound, `Vigil knows nobody as ${command.identity}.`)
    : ok(found.personId);
}

/** Unlinks an identity (admins): it stays on record but can no longer act, until linked again. */
export async function unlinkIdentity(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly personId: string; readonly key: string },
): Promise<Result<{ readonly personId: string }>> {
  const allowed = await permitAdmin(deps, person, command.personId, 'person.unlink_refused', {
    personId: command.personId,
    key: command.key,
  });
  if (!allowed.ok) return allowed;
  return deps.handle.db.transaction().execute(async (trx) => {
    const personId = await revokeIdentity(trx, command.key, command.personId);
    if (personId === null)
      return fail(PersonErrorCode.NotFound, `${command.personId} has no linked identity ${command.key}.`);
    await auditPersonChange(trx, deps, person, 'person.identity_unlinked', { personId, key: command.key });
    return ok({ personId });
  });
}

/** Offboarding (admins): the person, all their identities and all their tokens stop acting at once. */
export async function disablePerson(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly personId: string },
): Promise<Result<{ readonly disabled: boolean }>> {
  const allowed = await permitAdmin(deps, person, command.personId, 'person.disable_refused', {
    personId: command.personId,
  });
  if (!allowed.ok) return allowed;
  if (command.personId === person.personId)
    return fail(PersonErrorCode.LinkConflict, 'You cannot disable yourself; ask another admin.');
  return deps.handle.db.transaction().execute(async (trx) => {
    const exists = await trx
      .selectFrom('persons')
      .select('id')
      .where('id', '=', command.personId)
      .executeTakeFirst();
    if (exists === undefined) return notFound(command.personId);
    const disabled = await disablePersonRows(trx, command.personId, person.actor);
    if (disabled)
      await auditPersonChange(trx, deps, person, 'person.disabled', { personId: command.personId });
    return ok({ disabled });
  });
}
