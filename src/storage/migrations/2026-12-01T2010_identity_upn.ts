import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/** An identity's user principal name when its platform told it (Teams), for Graph's `assignedTo`. */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE person_identities ADD COLUMN upn text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE person_identities DROP COLUMN upn`.execute(db);
}
