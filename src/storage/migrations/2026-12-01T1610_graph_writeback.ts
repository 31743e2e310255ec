import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * Write-back to Microsoft Graph: one writer per alert at a time (a lease), and the last audit
 * row whose comment reached Graph, so no comment is posted twice.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE graph_alert_state
    ADD COLUMN writeback_owner text,
    ADD COLUMN writeback_until timestamptz,
    ADD COLUMN comments_through bigint NOT NULL DEFAULT 0,
    ADD COLUMN writeback_error text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE graph_alert_state
    DROP COLUMN writeback_owner, DROP COLUMN writeback_until, DROP COLUMN comments_through,
    DROP COLUMN writeback_error`.execute(db);
}
