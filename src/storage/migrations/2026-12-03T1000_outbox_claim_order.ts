import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * Drops `outbox_pending_due` (available_at, where `enqueued_at IS NULL`): every claim states that
 * predicate, so with statistics from before a backlog (a storm outruns autovacuum) the planner
 * took the index for a one-row one and read the whole backlog through it, even to find one row by
 * ID (1.75 ms a probe at 20,000 pending rows). Its successor `outbox_due` (concurrent-indexes.ts)
 * adds `failed_at IS NULL`, which no claim states, so claims use `outbox_pending` (by ID) or the
 * primary key.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS outbox_pending_due`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX IF NOT EXISTS outbox_pending_due ON outbox (available_at) WHERE enqueued_at IS NULL`.execute(
    db,
  );
}
