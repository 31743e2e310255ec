import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * An auto-remediating policy's steps become actions like an investigation's, so they are
 * approved, executed, shown and audited the same way: they live in an investigation of purpose
 * `policy_remediation` (one per alert and policy), which records the steps that found no target
 * on the alert and, once every action has settled, the policy's outcome (resolved, or left open).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE investigations
    ADD COLUMN purpose text NOT NULL DEFAULT 'playbook' CHECK (purpose IN ('playbook','policy_remediation')),
    ADD COLUMN policy_id uuid,
    ADD COLUMN untargeted_steps integer NOT NULL DEFAULT 0,
    ADD COLUMN policy_outcome text CHECK (policy_outcome IN ('resolved','incomplete'))`.execute(db);
  await sql`CREATE UNIQUE INDEX investigations_policy_remediation ON investigations (trigger_alert_id, policy_id)
    WHERE purpose = 'policy_remediation'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS investigations_policy_remediation`.execute(db);
  await sql`ALTER TABLE investigations DROP COLUMN IF EXISTS policy_outcome,
    DROP COLUMN IF EXISTS untargeted_steps, DROP COLUMN IF EXISTS policy_id, DROP COLUMN IF EXISTS purpose`.execute(
    db,
  );
}
