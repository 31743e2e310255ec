import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * Incidents: the alerts Microsoft Defender groups into one incident belong to one Vigil
 * incident, keyed by Graph's incident ID and created on first sight (an alert carrying its
 * `incidentId`, or the incident pull). What Graph last said of it is kept beside, with the
 * write-back lease of the one job writing it back.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE incidents (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      graph_id text NOT NULL UNIQUE,
      display_name text,
      severity text,
      web_url text,
      graph_status text,
      graph_classification text,
      graph_determination text,
      graph_assigned_to text,
      last_update_at timestamptz,
      writeback_owner text,
      writeback_until timestamptz,
      writeback_error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX incidents_created ON incidents (created_at DESC, id DESC)`.execute(db);
  // A nullable column without default: no rewrite of a busy table. Its index is built concurrently (concurrent-indexes.ts).
  await sql`ALTER TABLE alerts ADD COLUMN incident_id uuid REFERENCES incidents(id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE alerts DROP COLUMN incident_id`.execute(db);
  await db.schema.dropTable('incidents').ifExists().execute();
}
