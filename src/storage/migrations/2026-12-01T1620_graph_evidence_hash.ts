import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/** A digest of the evidence last applied per Graph alert: unchanged evidence is not rewritten. */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE graph_alert_state ADD COLUMN evidence_hash text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE graph_alert_state DROP COLUMN evidence_hash`.execute(db);
}
