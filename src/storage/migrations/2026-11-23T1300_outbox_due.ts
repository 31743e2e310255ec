import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/** Lets the relay find the next delayed row's due time without scanning every pending row. */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX outbox_pending_due ON outbox (available_at) WHERE enqueued_at IS NULL`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS outbox_pending_due`.execute(db);
}
