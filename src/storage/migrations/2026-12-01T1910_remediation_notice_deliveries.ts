import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * Remediation notices reach people on each chat platform (the requester's direct message, the
 * thread of the alert's card): one row per notice (its outbox row) and destination, written as
 * soon as that destination has it, so a retry after a failure elsewhere never sends it twice.
 * `error` is set when a destination refused for good (it is not tried again).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE remediation_notice_deliveries (
      outbox_id bigint NOT NULL,
      platform text NOT NULL,
      destination text NOT NULL,
      remediation_id uuid NOT NULL REFERENCES remediations(id) ON DELETE CASCADE,
      kind text NOT NULL,
      error text,
      delivered_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (outbox_id, platform, destination)
    )`.execute(db);
  await sql`CREATE INDEX remediation_notice_deliveries_remediation
    ON remediation_notice_deliveries (remediation_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS remediation_notice_deliveries`.execute(db);
}
