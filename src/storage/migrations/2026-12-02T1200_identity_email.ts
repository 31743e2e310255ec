import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * What the platform says of an identity's e-mail, looked up once (a job, never on a click's path):
 * the address, whether the platform vouches for it, and why the identity may not be linked
 * automatically (a guest, another workspace or tenant; null: it may).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE person_identities
    ADD COLUMN email text,
    ADD COLUMN email_verified boolean NOT NULL DEFAULT false,
    ADD COLUMN auto_link_refusal text,
    ADD COLUMN email_looked_up_at timestamptz,
    ADD COLUMN email_lookup_queued_at timestamptz`.execute(db);
  await sql`CREATE INDEX person_identities_verified_email ON person_identities (lower(email))
    WHERE email_verified AND auto_link_refusal IS NULL AND revoked_at IS NULL`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX person_identities_verified_email`.execute(db);
  await sql`ALTER TABLE person_identities
    DROP COLUMN email, DROP COLUMN email_verified, DROP COLUMN auto_link_refusal,
    DROP COLUMN email_looked_up_at, DROP COLUMN email_lookup_queued_at`.execute(db);
}
