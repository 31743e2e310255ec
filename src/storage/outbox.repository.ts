import { sql } from 'kysely';
import type { OutboxMessage } from '../domain/index.js';
import { json } from './alert.mapper.js';
import type { Db } from './db.js';

export const outboxChannel = (schema: string): string => `vigil_outbox_${schema}`;

/**
 * Writes outbox rows inside the caller's transaction. A trigger (outbox_notify) wakes the relays
 * when it commits; a rolled-back change wakes no one.
 */
export async function appendOutbox(trx: Db, messages: readonly OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await trx
    .insertInto('outbox')
    .values(
      messages.map((message) => ({
        topic: message.topic,
        payload: json(message.payload),
        ...(message.availableAt === undefined ? {} : { available_at: message.availableAt }),
      })),
    )
    .execute();
}

export interface OutboxRow {
  readonly id: string;
  readonly topic: string;
  readonly payload: Record<string, unknown>;
}

/**
 * Claims a batch of rows not yet handed to the queue and hands them over with `enqueue`; the
 * rows are marked enqueued only if `enqueue` succeeds, in the same transaction that locked them,
 * so concurrent relays (SKIP LOCKED) never take the same row and a failed hand-over is retried.
 */
export async function relayPending(
  db: Db,
  limit: number,
  enqueue: (rows: readonly OutboxRow[]) => Promise<void>,
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('outbox')
      .select(['id', 'topic', 'payload'])
      .where('enqueued_at', 'is', null)
      .where('available_at', '<=', sql<Date>`now()`)
      .orderBy('id')
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
    if (rows.length === 0) return 0;
    await enqueue(rows);
    await trx
      .updateTable('outbox')
      .set({ enqueued_at: sql`now()` })
      .where(
        'id',
        'in',
        rows.map((row) => row.id),
      )
      .execute();
    return rows.length;
  });
}

/** Milliseconds, by the database's clock, until the next delayed row falls due; null if none waits. */
export async function msUntilNextDue(db: Db): Promise<number | null> {
  const row = await db
    .selectFrom('outbox')
    .select(sql<number | null>`extract(epoch FROM (min(available_at) - now())) * 1000`.as('ms'))
    .where('enqueued_at', 'is', null)
    .executeTakeFirst();
  return row?.ms === null || row?.ms === undefined ? null : Math.max(0, Number(row.ms));
}

/** Rows handed to the queue a while ago whose work is neither done nor given up on. */
export async function unfinishedSince(db: Db, olderThanMs: number, limit: number): Promise<OutboxRow[]> {
  return db
    .selectFrom('outbox')
    .select(['id', 'topic', 'payload'])
    .where('enqueued_at', 'is not', null)
    .where('completed_at', 'is', null)
    .where('failed_at', 'is', null)
    .where('enqueued_at', '<', sql<Date>`now() - make_interval(secs => ${olderThanMs / 1000})`)
    .orderBy('id')
    .limit(limit)
    .execute();
}

/**
 * Sends rows back to the relay (their job vanished from Redis), unless they finished meanwhile: a
 * job that completed is removed from Redis soon after, but only after its row was marked done.
 * Returns how many went back.
 */
export async function requeue(db: Db, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db
    .updateTable('outbox')
    .set({ enqueued_at: null })
    .where('id', 'in', ids)
    .where('completed_at', 'is', null)
    .where('failed_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function markCompleted(db: Db, id: string): Promise<void> {
  await db.updateTable('outbox').set({ completed_at: sql`now()` }).where('id', '=', id).execute();
}

export async function markFailed(db: Db, id: string, error: string): Promise<void> {
  await db
    .updateTable('outbox')
    .set({ failed_at: sql`now()`, last_error: error.slice(0, 2000) })
    .where('id', '=', id)
    .execute();
}
