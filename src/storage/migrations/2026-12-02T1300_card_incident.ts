import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * The incident section a card last showed (its alerts by status), beside the alert revision it
 * showed: a sibling's change makes the section stale without touching this alert's row, so the
 * card is current only when both match (sibling rows are not locked to bump their revisions).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE cards ADD COLUMN rendered_incident text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE cards DROP COLUMN rendered_incident`.execute(db);
}
