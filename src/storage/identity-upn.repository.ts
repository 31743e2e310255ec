import { sql } from 'kysely';
import { identityKeys, type UserActor } from '../domain/index.js';
import type { Db } from './db.js';

/** Records the UPN a platform told for this identity (Teams activities may carry it), for Graph's `assignedTo`. */
export async function recordUpn(db: Db, actor: UserActor, upn: string | undefined): Promise<void> {
  const principal = upn?.trim().toLowerCase();
  if (principal === undefined || principal === '') return;
  await db
    .updateTable('person_identities')
    .set({ upn: principal })
    .where('key', 'in', [...identityKeys(actor)])
    .where((eb) => eb.or([eb('upn', 'is', null), eb('upn', '<>', principal)]))
    .execute();
}

/**
 * The UPN of this actor: the one its platform told (Teams), else its verified e-mail address when
 * it is a member of this install's own workspace or tenant (a Slack user's profile e-mail, where
 * the organisation signs in to Slack with its Entra ID accounts, is their UPN). Null: unknown.
 */
export async function upnOf(db: Db, actor: UserActor): Promise<string | null> {
  const row = await db
    .selectFrom('person_identities')
    .select(
      sql<
        string | null
      >`coalesce(upn, CASE WHEN email_verified AND auto_link_refusal IS NULL THEN lower(email) END)`.as(
        'upn',
      ),
    )
    .where('key', 'in', [...identityKeys(actor)])
    .where((eb) =>
      eb.or([
        eb('upn', 'is not', null),
        eb.and([
          eb('email_verified', '=', true),
          eb('auto_link_refusal', 'is', null),
          eb('email', 'is not', null),
        ]),
      ]),
    )
    .orderBy(sql`upn IS NULL`)
    .executeTakeFirst();
  return row?.upn ?? null;
}
