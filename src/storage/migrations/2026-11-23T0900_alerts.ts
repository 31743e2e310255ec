import { type Kysely, sql } from 'kysely';

// Frozen in time: this migration uses Kysely<any> and raw SQL, never the app's current types.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE alerts (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      number bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
      source text NOT NULL,
      source_id text,
      fingerprint text NOT NULL,
      title text NOT NULL,
      description text NOT NULL,
      severity text NOT NULL CHECK (severity IN ('informational','low','medium','high','critical')),
      category text,
      policy_name text,
      policy_url text,
      labels jsonb NOT NULL DEFAULT '{}',
      links jsonb NOT NULL DEFAULT '[]',
      determination text,
      status text NOT NULL DEFAULT 'new' CHECK (status IN ('new','in_progress','resolved')),
      classification text CHECK (classification IN ('true_positive','false_positive','informational_expected_activity')),
      resolution_comment text,
      first_seen_at timestamptz NOT NULL,
      last_seen_at timestamptz NOT NULL,
      occurrence_count integer NOT NULL DEFAULT 1,
      assignee jsonb,
      status_changed_by jsonb,
      status_changed_at timestamptz,
      previous_alert_id uuid REFERENCES alerts(id),
      raw jsonb,
      version integer NOT NULL DEFAULT 1,
      revision integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  // At most one open alert per fingerprint: the upsert that de-duplicates storms relies on it.
  await sql`CREATE UNIQUE INDEX alerts_open_fingerprint ON alerts (fingerprint) WHERE status <> 'resolved'`.execute(
    db,
  );
  await sql`CREATE INDEX alerts_fingerprint ON alerts (fingerprint, created_at DESC)`.execute(db);
  await sql`CREATE INDEX alerts_list ON alerts (created_at DESC, id DESC)`.execute(db);
  await sql`CREATE INDEX alerts_status_list ON alerts (status, created_at DESC, id DESC)`.execute(db);

  await sql`
    CREATE TABLE alert_entities (
      alert_id uuid NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
      kind text NOT NULL,
      key text NOT NULL,
      display_name text NOT NULL,
      roles jsonb NOT NULL DEFAULT '[]',
      attributes jsonb NOT NULL DEFAULT '{}',
      PRIMARY KEY (alert_id, kind, key)
    )`.execute(db);
  await sql`CREATE INDEX alert_entities_lookup ON alert_entities (kind, key)`.execute(db);

  await sql`
    CREATE TABLE audit_log (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      alert_id uuid REFERENCES alerts(id),
      actor jsonb NOT NULL,
      actor_key text NOT NULL,
      action text NOT NULL,
      details jsonb NOT NULL DEFAULT '{}',
      at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX audit_log_alert ON audit_log (alert_id, id)`.execute(db);
  // Append-only: the trail is evidence, so no one edits or deletes it, not even Vigil.
  await sql`
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only';
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`.execute(db);

  await sql`
    CREATE TABLE outbox (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      topic text NOT NULL,
      payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      available_at timestamptz NOT NULL DEFAULT now(),
      enqueued_at timestamptz,
      completed_at timestamptz,
      failed_at timestamptz,
      last_error text
    )`.execute(db);
  await sql`CREATE INDEX outbox_pending ON outbox (id) WHERE enqueued_at IS NULL`.execute(db);
  await sql`CREATE INDEX outbox_unfinished ON outbox (enqueued_at) WHERE enqueued_at IS NOT NULL AND completed_at IS NULL AND failed_at IS NULL`.execute(
    db,
  );

  await sql`
    CREATE TABLE cards (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      alert_id uuid NOT NULL REFERENCES alerts(id),
      platform text NOT NULL,
      target text NOT NULL,
      message_ref text,
      rendered_revision integer NOT NULL DEFAULT 0,
      state text NOT NULL DEFAULT 'active' CHECK (state IN ('active','failed')),
      error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (alert_id, platform, target)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['cards', 'outbox', 'audit_log', 'alert_entities', 'alerts']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  await sql`DROP FUNCTION IF EXISTS audit_log_append_only()`.execute(db);
}
