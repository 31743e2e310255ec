import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * A delivered remediation notice that offers buttons (Complete, File exception) keeps where it was
 * posted (`message_ref`, the platform's own reference) and its sentence (`message`), so once the
 * remediation is completed the notice can be shown again without them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE remediation_notice_deliveries
      ADD COLUMN message_ref text,
      ADD COLUMN message text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE remediation_notice_deliveries
      DROP COLUMN IF EXISTS message_ref,
      DROP COLUMN IF EXISTS message`.execute(db);
}
