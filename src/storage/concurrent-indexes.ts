import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Logger } from '../logger.js';
import type { Db, DbHandle } from './db.js';

/**
 * Indexes added after a table is busy. Kysely's migrator runs the pending migrations in a
 * transaction, where `CREATE INDEX CONCURRENTLY` is refused, and a plain `CREATE INDEX` would
 * block every write to the table while it builds. So they are listed here instead of in a
 * migration, and `ensureConcurrentIndexes` builds whichever is missing or INVALID: in the
 * background of every worker process at start, and in the foreground of `vigil migrate` (see
 * docs/operations.md). An entry is never edited: a changed index gets a new name.
 */
export const CONCURRENT_INDEXES: readonly {
  readonly name: string;
  readonly table: string;
  readonly on: string;
}[] = [
  // `vigil outbox failed`, the failed-rows gauge and `vigil outbox replay`.
  { name: 'outbox_failed', table: 'outbox', on: '(topic, id) WHERE failed_at IS NOT NULL' },
  // Deleting completed rows past their retention, oldest first.
  { name: 'outbox_completed', table: 'outbox', on: '(completed_at) WHERE completed_at IS NOT NULL' },
  // An incident's alerts (incident pages, cards, Resolve incident).
  { name: 'alerts_incident', table: 'alerts', on: '(incident_id) WHERE incident_id IS NOT NULL' },
  // When the next delayed row falls due (msUntilNextDue). `failed_at IS NULL` holds for every
  // pending row but no claim states it, so no claim can take this index for a small one (see the
  // migration 2026-12-03T1000_outbox_claim_order).
  {
    name: 'outbox_due',
    table: 'outbox',
    on: '(available_at) WHERE enqueued_at IS NULL AND failed_at IS NULL',
  },
  // The rows the relay hands to the queues while it delivers card refreshes itself (relayPending):
  // a storm's pending notify rows never enter it.
  {
    name: 'outbox_pending_queued',
    table: 'outbox',
    on: "(id) WHERE enqueued_at IS NULL AND topic <> 'notify'",
  },
];

export interface IndexReport {
  /** Built, or rebuilt after being found INVALID. */
  readonly built: readonly string[];
  /** Another process holds the build lock; it builds them, or the next start does. */
  readonly skipped: boolean;
}

/**
 * Builds the missing indexes and rebuilds INVALID ones (a `CREATE INDEX CONCURRENTLY` that was
 * interrupted leaves one behind: it costs writes and serves no reads). One process at a time,
 * under a try-lock: waiting on a lock inside a statement would hold a snapshot the concurrent
 * build itself waits for. A table with no rows yet gets a plain CREATE INDEX, which is instant.
 * A concurrent build waits for every older transaction in the database to end, so it can take a
 * while: `onBackend` lets the caller cancel it (see `maintainConcurrentIndexes`).
 */
export async function ensureConcurrentIndexes(
  handle: DbHandle,
  onBackend: (pid: number | null) => void = () => {},
): Promise<IndexReport> {
  return handle.db.connection().execute(async (conn) => {
    const pid = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(conn);
    onBackend(pid.rows[0]?.pid ?? null);
    try {
      return await buildMissing(handle, conn);
    } finally {
      // Before the connection goes back to the pool, where cancelling it would hit someone else.
      onBackend(null);
    }
  });
}

async function buildMissing(handle: DbHandle, conn: Db): Promise<IndexReport> {
  const lockKey = `vigil.indexes.${handle.schema}`;
  const locked = await sql<{
    locked: boolean;
  }>`SELECT pg_try_advisory_lock(hashtext(${lockKey})) AS locked`.execute(conn);
  if (locked.rows[0]?.locked !== true) return { built: [], skipped: true };
  try {
    const existing = await sql<{ name: string; valid: boolean }>`
      SELECT c.relname AS name, i.indisvalid AS valid
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ${handle.schema}
        AND c.relname IN (${sql.join(CONCURRENT_INDEXES.map((index) => index.name))})`.execute(conn);
    const valid = new Map(existing.rows.map((row) => [row.name, row.valid]));
    const built: string[] = [];
    for (const index of CONCURRENT_INDEXES) {
      if (valid.get(index.name) === true) continue;
      const name = sql.id(handle.schema, index.name);
      const table = sql.id(handle.schema, index.table);
      if (valid.get(index.name) === false) await sql`DROP INDEX CONCURRENTLY IF EXISTS ${name}`.execute(conn);
      const empty = await sql<{
        empty: boolean;
      }>`SELECT NOT EXISTS (SELECT 1 FROM ${table}) AS empty`.execute(conn);
      const how = empty.rows[0]?.empty === true ? sql.raw('') : sql.raw('CONCURRENTLY');
      await sql`CREATE INDEX ${how} IF NOT EXISTS ${sql.id(index.name)} ON ${table} ${sql.raw(index.on)}`.execute(
        conn,
      );
      built.push(index.name);
    }
    return { built, skipped: false };
  } finally {
    await sql`SELECT pg_advisory_unlock(hashtext(${lockKey}))`.execute(conn);
  }
}

/**
 * Runs `ensureConcurrentIndexes` in the background of a worker process: start-up does not wait
 * for a build that waits for other transactions. `stop` cancels a build still running (its
 * index is left INVALID and rebuilt at the next start).
 */
export function maintainConcurrentIndexes(handle: DbHandle, logger: Logger): { stop(): Promise<void> } {
  let backend: number | null = null;
  let settled = false;
  const running = ensureConcurrentIndexes(handle, (pid) => {
    backend = pid;
  })
    .then((report) => {
      if (report.built.length > 0) logger.info({ indexes: report.built }, 'built indexes');
    })
    .catch((error: Error) => {
      logger.warn(
        { code: (error as { code?: string }).code, error: error.message },
        'could not build indexes; the next start tries again',
      );
    })
    .finally(() => {
      settled = true;
    });
  return {
    stop: async () => {
      // A cancel reaches only the statement running at that moment: repeat it until the build
      // gives up (or is done), so one sent between two statements is not lost.
      while (!settled) {
        if (backend !== null) await sql`SELECT pg_cancel_backend(${backend})`.execute(handle.db);
        await Promise.race([running, sleep(100)]);
      }
    },
  };
}
