import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * The action center: terminating an investigation cancels its actions that have not started
 * (a new action status), the investigations list pages newest first by (created_at, id), and an
 * alert keeps the policy its source named beside the Vigil policy that acted on it, and a
 * completed remediation keeps its completion comment.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE actions DROP CONSTRAINT actions_status_check`.execute(db);
  await sql`ALTER TABLE actions ADD CONSTRAINT actions_status_check CHECK (status IN
    ('pending_approval','approved','rejected','running','done','failed','cancelled'))`.execute(db);
  await sql`CREATE INDEX investigations_newest ON investigations (created_at DESC, id DESC)`.execute(db);
  // The list filters by triggering alert.
  await sql`CREATE INDEX investigations_trigger ON investigations (trigger_alert_id)`.execute(db);
  // The Vigil policy that acted on an alert, kept apart from the policy the source named.
  await sql`ALTER TABLE alerts ADD COLUMN vigil_policy_id uuid, ADD COLUMN vigil_policy_name text`.execute(
    db,
  );
  // What the person who marked a remediation completed said about it.
  await sql`ALTER TABLE remediations ADD COLUMN completion_comment text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE remediations DROP COLUMN IF EXISTS completion_comment`.execute(db);
  await sql`ALTER TABLE alerts DROP COLUMN IF EXISTS vigil_policy_id, DROP COLUMN IF EXISTS vigil_policy_name`.execute(
    db,
  );
  await sql`DROP INDEX IF EXISTS investigations_trigger`.execute(db);
  await sql`DROP INDEX IF EXISTS investigations_newest`.execute(db);
  await sql`UPDATE actions SET status = 'rejected' WHERE status = 'cancelled'`.execute(db);
  await sql`ALTER TABLE actions DROP CONSTRAINT actions_status_check`.execute(db);
  await sql`ALTER TABLE actions ADD CONSTRAINT actions_status_check CHECK (status IN
    ('pending_approval','approved','rejected','running','done','failed'))`.execute(db);
}
