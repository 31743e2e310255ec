import { sql } from 'kysely';
import type { Db } from './db.js';

/** Outbox rows by state, for one topic: what /metrics shows. */
export interface OutboxTopicStats {
  readonly topic: string;
  /** Given up on after their retries; waiting for `vigil outbox replay`. */
  readonly failed: number;
  /** Neither done nor failed (waiting for the relay, queued, or running). */
  readonly unfinished: number;
  /** Seconds since the longest-waiting unfinished row fell due; 0 when none waits. */
  readonly oldestDueSeconds: number;
}

/**
 * Counts by topic. Each branch reads one partial index (failed, not yet handed over, handed over
 * and unfinished), so the cost follows the backlog, not the table's history.
 */
export async function outboxStats(db: Db): Promise<OutboxTopicStats[]> {
  const result = await sql<{ topic: string; failed: string; unfinished: string; oldest: number | null }>`
    SELECT topic, sum(failed) AS failed, sum(unfinished) AS unfinished,
           extract(epoch FROM now() - min(oldest_due)) AS oldest
    FROM (
      SELECT topic, count(*) AS failed, 0 AS unfinished, NULL::timestamptz AS oldest_due
        FROM outbox WHERE failed_at IS NOT NULL GROUP BY topic
      UNION ALL
      SELECT topic, 0, count(*), min(available_at) FILTER (WHERE available_at <= now())
        FROM outbox WHERE enqueued_at IS NULL GROUP BY topic
      UNION ALL
      SELECT topic, 0, count(*), min(available_at)
        FROM outbox WHERE enqueued_at IS NOT NULL AND completed_at IS NULL AND failed_at IS NULL
        GROUP BY topic
    ) AS by_state
    GROUP BY topic
    ORDER BY topic`.execute(db);
  return result.rows.map((row) => ({
    topic: row.topic,
    failed: Number(row.failed),
    unfinished: Number(row.unfinished),
    oldestDueSeconds: Math.max(0, Number(row.oldest ?? 0)),
  }));
}

export interface FailedOutboxRow {
  readonly id: string;
  readonly topic: string;
  readonly failedAt: Date;
  readonly lastError: string | null;
}

export interface FailedFilter {
  readonly topic?: string;
  readonly id?: string;
  /** Only rows with a greater ID (paging). */
  readonly afterId?: string;
  readonly limit: number;
}

/** Failed rows, oldest first. */
export async function failedOutboxRows(db: Db, filter: FailedFilter): Promise<FailedOutboxRow[]> {
  let query = db
    .selectFrom('outbox')
    .select(['id', 'topic', 'failed_at', 'last_error'])
    .where('failed_at', 'is not', null)
    .orderBy('id')
    .limit(filter.limit);
  if (filter.topic !== undefined) query = query.where('topic', '=', filter.topic);
  if (filter.id !== undefined) query = query.where('id', '=', filter.id);
  if (filter.afterId !== undefined) query = query.where('id', '>', filter.afterId);
  const rows = await query.execute();
  return rows.map((row) => ({
    id: row.id,
    topic: row.topic,
    failedAt: row.failed_at as Date,
    lastError: row.last_error,
  }));
}

/**
 * Sends failed rows back to the relay: clears `failed_at` and `enqueued_at` (the error stays in
 * `last_error` until the next outcome). Only rows still failed change, so replaying twice is
 * harmless. Returns the IDs that went back.
 */
export async function replayFailed(db: Db, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .updateTable('outbox')
    .set({ failed_at: null, enqueued_at: null, job_id: null, available_at: sql`now()` })
    .where('id', 'in', ids)
    .where('failed_at', 'is not', null)
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
}

/**
 * Deletes up to `batch` rows completed more than `retentionDays` ago; locked rows are left for
 * the next pass, so several workers purging at once do not wait on each other.
 */
export async function deleteCompletedBatch(db: Db, retentionDays: number, batch: number): Promise<number> {
  const result = await sql`
    DELETE FROM outbox WHERE id IN (
      SELECT id FROM outbox
      WHERE completed_at IS NOT NULL AND completed_at < now() - make_interval(days => ${retentionDays})
      ORDER BY completed_at
      LIMIT ${batch}
      FOR UPDATE SKIP LOCKED
    )`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
