import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * A person is the unit of identity: one row in `persons`, any number of identities (a Slack user,
 * a Teams user, an OIDC subject, the API service) in `person_identities`, personal API tokens in
 * `api_tokens`. Roles belong to the person.
 *
 * Existing data keeps its meaning: every `people` row becomes a person with its identity under
 * the key it had (`slack:U0123`, `teams:<object ID>`; the first Slack or Teams click naming the
 * workspace or tenant completes the key). Everything done under the one API token (`api:<name>`,
 * a name the caller typed) belongs to the API service person. Audit rows stay as written (the
 * trail is append-only): each actor key now names an identity of one person. The requester and
 * approver keys of investigations, actions and decisions become `person:<id>`, the key the
 * approval rules compare.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE persons (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      kind text NOT NULL DEFAULT 'person' CHECK (kind IN ('person','service')),
      display_name text,
      role text CHECK (role IN ('viewer','responder','approver','admin')),
      role_granted_by text,
      disabled_at timestamptz,
      disabled_by text,
      merged_into uuid REFERENCES persons(id),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`
    CREATE TABLE person_identities (
      key text PRIMARY KEY,
      person_id uuid NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
      display_name text,
      linked_by text,
      revoked_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX person_identities_person ON person_identities (person_id)`.execute(db);
  await sql`
    CREATE TABLE api_tokens (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      person_id uuid NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
      parent_id uuid REFERENCES api_tokens(id),
      name text NOT NULL,
      token_hash text NOT NULL UNIQUE,
      role_cap text NOT NULL CHECK (role_cap IN ('viewer','responder','approver','admin')),
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz,
      last_used_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX api_tokens_person ON api_tokens (person_id)`.execute(db);

  // The one service identity VIGIL_API_TOKEN acts as.
  await sql`
    WITH service AS (
      INSERT INTO persons (kind, display_name, role) VALUES ('service', 'API service (VIGIL_API_TOKEN)', 'admin')
      RETURNING id
    )
    INSERT INTO person_identities (key, person_id, display_name) SELECT 'service:api', id, 'API service' FROM service
  `.execute(db);

  // Everyone Vigil already knew, one person each, under the key they were known by.
  await sql`ALTER TABLE persons ADD COLUMN legacy_key text`.execute(db);
  await sql`
    INSERT INTO persons (display_name, role, role_granted_by, created_at, updated_at, legacy_key)
    SELECT display_name, role, granted_by, created_at, updated_at, user_key FROM people
    WHERE user_key NOT LIKE 'api:%'`.execute(db);
  await sql`
    INSERT INTO person_identities (key, person_id, display_name, created_at)
    SELECT legacy_key, id, display_name, created_at FROM persons WHERE legacy_key IS NOT NULL`.execute(db);
  await sql`ALTER TABLE persons DROP COLUMN legacy_key`.execute(db);
  // Roles now belong to persons; a write to the old table would silently grant nothing.
  await sql`DROP TABLE people`.execute(db);

  // Everything done under the one API token, whatever name the caller typed (api:<name>), was the
  // API service: those keys become identities of the service person, revoked (no one acts by them).
  await sql`
    INSERT INTO person_identities (key, person_id, revoked_at)
    SELECT k.key, s.person_id, now()
    FROM (SELECT actor_key AS key FROM audit_log WHERE actor_key LIKE 'api:%'
          UNION SELECT requested_by_key FROM actions WHERE requested_by_key LIKE 'api:%'
          UNION SELECT approver_key FROM action_decisions WHERE approver_key LIKE 'api:%'
          UNION SELECT started_by_key FROM investigations WHERE started_by_key LIKE 'api:%') k
    CROSS JOIN (SELECT person_id FROM person_identities WHERE key = 'service:api') s
    ON CONFLICT (key) DO NOTHING`.execute(db);

  // The audit trail is append-only evidence: its rows keep their actor key, which now names one
  // identity of one person; rows written from now on carry their person too.
  await sql`ALTER TABLE audit_log ADD COLUMN person_id uuid`.execute(db);
  await sql`
    UPDATE investigations i SET started_by_key = 'person:' || l.person_id
    FROM person_identities l WHERE i.started_by_key = l.key`.execute(db);
  await sql`
    UPDATE actions a SET requested_by_key = 'person:' || l.person_id
    FROM person_identities l WHERE a.requested_by_key = l.key`.execute(db);
  // One decision per person and action: where one person decided twice under two keys (only the
  // API service could, under two typed names), the first keeps the person, the later ones their key.
  await sql`
    UPDATE action_decisions d SET approver_key = 'person:' || first.person_id
    FROM (
      SELECT DISTINCT ON (d.action_id, l.person_id) d.id, l.person_id
      FROM action_decisions d JOIN person_identities l ON l.key = d.approver_key
      ORDER BY d.action_id, l.person_id, d.id
    ) first
    WHERE d.id = first.id`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE audit_log DROP COLUMN IF EXISTS person_id`.execute(db);
  await db.schema.dropTable('api_tokens').ifExists().execute();
  await db.schema.dropTable('person_identities').ifExists().execute();
  await db.schema.dropTable('persons').ifExists().execute();
}
