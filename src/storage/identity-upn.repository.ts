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

/** The UPN recorded for any identity of this actor, or null. */
export async function upnOf(db: Db, actor: UserActor): Promise<string | null> {
  const row = await db
    .selectFrom('person_identities')
    .select('upn')
    .where('key', 'in', [...identityKeys(actor)])
    .where('upn', 'is not', null)
    .executeTakeFirst();
  return row?.upn ?? null;
}
