import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * Console sign-in with OpenID Connect. `oidc_logins` holds a sign-in under way (state, nonce and
 * PKCE verifier, keyed by the hash of the browser's login cookie, used once); `console_sessions`
 * the sessions it ends in, keyed by the hash of the session cookie (the cookie itself is never
 * stored). `persons.claimed_role` is the role the identity provider's claim mapped to at the
 * person's last sign-in, the third source of the role rule.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE persons ADD COLUMN claimed_role text
    CHECK (claimed_role IN ('viewer','responder','approver','admin'))`.execute(db);
  await sql`
    CREATE TABLE oidc_logins (
      id_hash text PRIMARY KEY,
      state text NOT NULL,
      nonce text NOT NULL,
      code_verifier text NOT NULL,
      return_to text NOT NULL,
      expires_at timestamptz NOT NULL
    )`.execute(db);
  await sql`
    CREATE TABLE console_sessions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      id_hash text NOT NULL UNIQUE,
      person_id uuid NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
      identity_key text NOT NULL,
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX console_sessions_person ON console_sessions (person_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('console_sessions').ifExists().execute();
  await db.schema.dropTable('oidc_logins').ifExists().execute();
  await sql`ALTER TABLE persons DROP COLUMN IF EXISTS claimed_role`.execute(db);
}
