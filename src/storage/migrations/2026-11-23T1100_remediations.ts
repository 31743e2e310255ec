import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * Remediation requests and the tickets that carry them to IT. Devices are a jsonb array on the
 * row (at most 10,000 names, read only with one remediation); lists and the CSV export never
 * select that column.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE remediations (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      number bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
      subject_kind text NOT NULL CHECK (subject_kind IN ('recommendation','investigation_action')),
      recommendation text NOT NULL,
      action_ref text,
      alert_id uuid REFERENCES alerts(id),
      devices jsonb NOT NULL,
      device_count integer NOT NULL,
      devices_left integer NOT NULL DEFAULT 0,
      due_at timestamptz NOT NULL,
      priority text NOT NULL CHECK (priority IN ('low','medium','high','critical')),
      notes text NOT NULL DEFAULT '',
      requester jsonb NOT NULL,
      requester_key text NOT NULL,
      status text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open','in_progress','completed','overdue','exception')),
      -- The connector that opened the ticket: null until the ticket job has run.
      connector text CHECK (connector IN ('builtin','jira','servicenow','webhook')),
      external_id text,
      external_url text,
      idempotency_key text NOT NULL UNIQUE,
      exception_reason text
        CHECK (exception_reason IN ('false_positive','compensating_control','business_justification','planned_remediation')),
      exception_justification text,
      exception_expires_at timestamptz,
      exception_filed_by jsonb,
      exception_filed_at timestamptz,
      completed_at timestamptz,
      completed_by jsonb,
      poll_seq integer NOT NULL DEFAULT 0,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  // Lists and the CSV export page newest first on (created_at, id).
  await sql`CREATE INDEX remediations_list ON remediations (created_at DESC, id DESC)`.execute(db);
  await sql`CREATE INDEX remediations_status_list ON remediations (status, created_at DESC, id DESC)`.execute(
    db,
  );
  // Inbound ticket webhooks find the remediation by the ticket they name.
  await sql`CREATE INDEX remediations_external ON remediations (connector, external_id) WHERE external_id IS NOT NULL`.execute(
    db,
  );
  // A remediation's trail: audit rows name it in details, as they need not belong to an alert.
  await sql`CREATE INDEX audit_log_remediation ON audit_log ((details->>'remediationId'), id) WHERE details ? 'remediationId'`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS audit_log_remediation`.execute(db);
  await db.schema.dropTable('remediations').ifExists().execute();
}
