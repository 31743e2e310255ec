import { sql } from 'kysely';
import type { DbHandle } from './db.js';

/**
 * Indexes added after a table is busy. Kysely's migrator runs the pending migrations in a
 * transaction, where `CREATE INDEX CONCURRENTLY` is refused, and a plain `CREATE INDEX` would block every
 * write to the table while it builds. So they are listed here instead of in a migration, and
 * `ensureConcurrentIndexes` builds whichever is missing or INVALID after the migrations, at
 * every start (see docs/operations.md). An entry is never edited: a changed index gets a new name.
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
 */
export async function ensureConcurrentIndexes(handle: DbHandle): Promise<IndexReport> {
  return handle.db.connection().execute(async (conn) => {
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
        if (valid.get(index.name) === false)
          await sql`DROP INDEX CONCURRENTLY IF EXISTS ${name}`.execute(conn);
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
  });
}
