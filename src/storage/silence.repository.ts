import {
  type Actor,
  actorKey,
  fail,
  ok,
  type Result,
  type Silence,
  silenceProblem,
} from '../domain/index.js';
import { json } from './alert.mapper.js';
import { appendAudit, auditRefused } from './audit.repository.js';
import type { Db } from './db.js';
import { bumpPolicyGeneration, type StoredSilence, toSilence } from './policy.repository.js';

export type { StoredSilence };

/** Creates a silence, audited, and tells ingest caches to reload (the generation rises). */
export async function createSilence(
  db: Db,
  silence: Omit<Silence, 'id'>,
  now: Date,
): Promise<Result<StoredSilence>> {
  const problem = silenceProblem(silence);
  if (problem !== null) {
    const { labels, entities, comment } = silence;
    await auditRefused(
      db,
      silence.createdBy,
      'silence.refused',
      { reason: problem, labels, entities, comment },
      now,
    );
    return fail('silence.invalid', problem);
  }
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('silences')
      .values({
        labels: json(silence.labels),
        entities: json(silence.entities),
        starts_at: silence.startsAt,
        ends_at: silence.endsAt,
        created_by: json(silence.createdBy),
        comment: silence.comment,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await bumpPolicyGeneration(trx);
    await appendAudit(trx, [
      {
        alertId: null,
        actor: silence.createdBy,
        action: 'silence.created',
        details: {
          silenceId: row.id,
          labels: silence.labels,
          entities: silence.entities,
          startsAt: silence.startsAt.toISOString(),
          endsAt: silence.endsAt.toISOString(),
          comment: silence.comment,
        },
        at: now,
      },
    ]);
    return ok(toSilence(row));
  });
}

/** Silences not yet ended at `now` (active or still to come), soonest end first. */
export async function listSilences(db: Db, now: Date, includeEnded = false): Promise<StoredSilence[]> {
  let query = db.selectFrom('silences').selectAll();
  if (!includeEnded) query = query.where('ends_at', '>', now);
  return (await query.orderBy('ends_at').orderBy('id').execute()).map(toSilence);
}

export async function getSilence(db: Db, id: string): Promise<StoredSilence | null> {
  const row = await db.selectFrom('silences').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : toSilence(row);
}

/** Ends a silence now (kept for the record and its count); false if there is none or it had ended. */
export async function expireSilence(db: Db, id: string, by: Actor, now: Date): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('silences')
      .set({ ends_at: now })
      .where('id', '=', id)
      .where('ends_at', '>', now)
      .where('starts_at', '<', now)
      .returning(['id'])
      .executeTakeFirst();
    // A silence that has not started yet is removed outright (ends_at must follow starts_at).
    const removed =
      row ??
      (await trx
        .deleteFrom('silences')
        .where('id', '=', id)
        .where('starts_at', '>=', now)
        .returning(['id'])
        .executeTakeFirst());
    if (removed === undefined) return false;
    await bumpPolicyGeneration(trx);
    await appendAudit(trx, [
      {
        alertId: null,
        actor: by,
        action: 'silence.expired',
        details: { silenceId: id, by: actorKey(by) },
        at: now,
      },
    ]);
    return true;
  });
}

/** Moves a silence's end (to extend or shorten it), audited; false if none or the end precedes its start. */
export async function moveSilenceEnd(
  db: Db,
  id: string,
  endsAt: Date,
  by: Actor,
  now: Date,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const before = await trx
      .selectFrom('silences')
      .select(['ends_at'])
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (before === undefined) return false;
    const row = await trx
      .updateTable('silences')
      .set({ ends_at: endsAt })
      .where('id', '=', id)
      .where('starts_at', '<', endsAt)
      .returning('id')
      .executeTakeFirst();
    if (row === undefined) return false;
    await bumpPolicyGeneration(trx);
    await appendAudit(trx, [
      {
        alertId: null,
        actor: by,
        action: 'silence.changed',
        details: {
          silenceId: id,
          previousEndsAt: before.ends_at.toISOString(),
          endsAt: endsAt.toISOString(),
        },
        at: now,
      },
    ]);
    return true;
  });
}
