import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * The BullMQ job a row was handed to, when that is not the row's own (`outbox-<id>`): card
 * refreshes travel many rows to a job, and the re-drive and the replay must find that job.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE outbox ADD COLUMN job_id text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE outbox DROP COLUMN IF EXISTS job_id`.execute(db);
}
