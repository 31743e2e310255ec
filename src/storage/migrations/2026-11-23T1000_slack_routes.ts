import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

export async function up(db: Kysely<any>): Promise<void> {
  // Which chat channels get which alerts. `platform` leaves room for Teams routes in the same table.
  await sql`
    CREATE TABLE chat_routes (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      platform text NOT NULL CHECK (platform IN ('slack','teams')),
      channel text NOT NULL,
      sources text[] NOT NULL DEFAULT '{}',
      min_severity text CHECK (min_severity IN ('informational','low','medium','high','critical')),
      labels jsonb NOT NULL DEFAULT '{}',
      position integer NOT NULL DEFAULT 0,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX chat_routes_platform ON chat_routes (platform, position, id)`.execute(db);
  // The last audit row each Slack card has told its thread about, so a retried delivery does not repeat a reply.
  await sql`
    CREATE TABLE slack_thread_notes (
      alert_id uuid NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
      channel text NOT NULL,
      last_audit_id bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (alert_id, channel)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('slack_thread_notes').ifExists().execute();
  await db.schema.dropTable('chat_routes').ifExists().execute();
}
