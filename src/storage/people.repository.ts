import { sql } from 'kysely';
import { type Actor, actorKey, type Clock, type Role } from '../domain/index.js';
import { appendAudit } from './audit.repository.js';
import type { Db, DbHandle } from './db.js';

/** Who the first admins are and what everyone else is until granted more (VIGIL_ADMINS, VIGIL_DEFAULT_ROLE). */
export interface RolePolicy {
  readonly admins: readonly string[];
  readonly defaultRole: Role;
}

type UserActor = Extract<Actor, { kind: 'user' }>;

/**
 * The role of a person: admin when VIGIL_ADMINS names them, else what an admin granted, else the
 * default. Sources, policies and Vigil itself act by rule, not by role.
 */
export async function roleOf(db: Db, actor: Actor, policy: RolePolicy): Promise<Role> {
  if (actor.kind !== 'user') return 'admin';
  const key = actorKey(actor);
  if (policy.admins.includes(key)) return 'admin';
  const row = await db.selectFrom('people').select('role').where('user_key', '=', key).executeTakeFirst();
  return (row?.role as Role | null | undefined) ?? policy.defaultRole;
}

/**
 * Names already recorded, per database: clicks come in bursts from the same people, and an upsert
 * per click would serialise them on one row lock for nothing. A cache only: losing it costs one
 * upsert, and another process keeps its own.
 */
const remembered = new WeakMap<Db, Map<string, string>>();

/**
 * Records a person's display name as the platform reports it, so cards and trails can name them,
 * and their UPN when the platform tells it (Teams), for Graph's `assignedTo`.
 */
export async function rememberPerson(db: Db, actor: UserActor, upn?: string): Promise<void> {
  const key = actorKey(actor);
  const name = actor.name ?? null;
  const principal = upn?.trim().toLowerCase() || null;
  let known = remembered.get(db);
  if (known === undefined) {
    known = new Map();
    remembered.set(db, known);
  }
  const seen = `${name ?? ''}\n${principal ?? ''}`;
  if (known.has(key) && ((name === null && principal === null) || known.get(key) === seen)) return;
  await db
    .insertInto('people')
    .values({
      user_key: key,
      platform: actor.platform,
      platform_id: actor.id,
      display_name: name,
      upn: principal,
    })
    .onConflict((oc) =>
      oc.column('user_key').doUpdateSet({
        display_name: sql`coalesce(excluded.display_name, people.display_name)`,
        upn: sql`coalesce(excluded.upn, people.upn)`,
        updated_at: sql`now()`,
      }),
    )
    .execute();
  if (known.size > 10_000) known.clear();
  known.set(key, seen);
}

/** Grants a role (an admin's act, audited). */
export async function grantRole(
  handle: DbHandle,
  by: Actor,
  person: UserActor,
  role: Role,
  clock: Clock,
): Promise<void> {
  await handle.db.transaction().execute(async (trx) => {
    const previous = await trx
      .selectFrom('people')
      .select('role')
      .where('user_key', '=', actorKey(person))
      .executeTakeFirst();
    await trx
      .insertInto('people')
      .values({
        user_key: actorKey(person),
        platform: person.platform,
        platform_id: person.id,
        display_name: person.name ?? null,
        role,
        granted_by: actorKey(by),
      })
      .onConflict((oc) =>
        oc.column('user_key').doUpdateSet({ role, granted_by: actorKey(by), updated_at: sql`now()` }),
      )
      .execute();
    await appendAudit(trx, [
      {
        alertId: null,
        actor: by,
        action: 'role.granted',
        details: { person: actorKey(person), role, previousRole: previous?.role ?? null },
        at: clock.now(),
      },
    ]);
  });
}
