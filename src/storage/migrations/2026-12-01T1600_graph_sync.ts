import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * The pull from Microsoft Graph: one row per stream (`alerts`) with its high-water mark, the
 * nextLink of a chain under way, the lease of the one runner, and counters; and what Vigil last
 * saw of each Graph alert, keyed by Graph's alert ID.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE graph_sync (
      stream text PRIMARY KEY,
      watermark timestamptz,
      chain_next_link text,
      chain_until timestamptz,
      lease_owner text,
      lease_until timestamptz,
      pulled_total bigint NOT NULL DEFAULT 0,
      skipped_total bigint NOT NULL DEFAULT 0,
      last_error text,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`
    CREATE TABLE graph_alert_state (
      graph_id text PRIMARY KEY,
      alert_id uuid NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
      last_update_at timestamptz,
      status text,
      classification text,
      determination text,
      assigned_to text,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX graph_alert_state_alert ON graph_alert_state (alert_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('graph_alert_state').ifExists().execute();
  await db.schema.dropTable('graph_sync').ifExists().execute();
}
