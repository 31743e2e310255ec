import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE people (
      user_key text PRIMARY KEY,
      platform text NOT NULL,
      platform_id text NOT NULL,
      display_name text,
      role text CHECK (role IN ('viewer','responder','approver','admin')),
      granted_by text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('people').ifExists().execute();
}
