import { type Kysely, sql } from 'kysely';

// Frozen in time: this migration uses Kysely<any> and raw SQL, never the app's current types.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE investigation_rules (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL,
      source text,
      min_severity text NOT NULL DEFAULT 'informational'
        CHECK (min_severity IN ('informational','low','medium','high','critical')),
      category text,
      playbook jsonb NOT NULL,
      automation text NOT NULL DEFAULT 'semi' CHECK (automation IN ('full','semi','none')),
      join_window_seconds integer NOT NULL DEFAULT 86400 CHECK (join_window_seconds >= 0),
      enabled boolean NOT NULL DEFAULT true,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  await sql`
    CREATE TABLE investigations (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      number bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
      status text NOT NULL DEFAULT 'queued' CHECK (status IN
        ('queued','running','pending_approval','remediated','partially_remediated','no_threats_found','failed','terminated')),
      trigger_alert_id uuid NOT NULL REFERENCES alerts(id),
      rule_id uuid REFERENCES investigation_rules(id) ON DELETE SET NULL,
      playbook jsonb NOT NULL,
      automation text NOT NULL CHECK (automation IN ('full','semi','none')),
      join_window_seconds integer NOT NULL DEFAULT 86400,
      scope_round integer NOT NULL DEFAULT 1,
      started_by jsonb NOT NULL,
      started_by_key text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    )`.execute(db);
  // The scope growth rule looks for open investigations only.
  await sql`CREATE INDEX investigations_open ON investigations (created_at DESC)
    WHERE status IN ('queued','running','pending_approval')`.execute(db);

  await sql`
    CREATE TABLE investigation_alerts (
      investigation_id uuid NOT NULL REFERENCES investigations(id) ON DELETE CASCADE,
      alert_id uuid NOT NULL REFERENCES alerts(id),
      reason text NOT NULL CHECK (reason IN ('trigger','shared_entity','manual')),
      joined_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (investigation_id, alert_id)
    )`.execute(db);
  await sql`CREATE INDEX investigation_alerts_alert ON investigation_alerts (alert_id)`.execute(db);

  await sql`
    CREATE TABLE investigation_entities (
      investigation_id uuid NOT NULL REFERENCES investigations(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('user','device','app','file','process','ip','url','mailbox')),
      key text NOT NULL,
      display_name text NOT NULL,
      verdict text NOT NULL DEFAULT 'unknown' CHECK (verdict IN ('unknown','clean','suspicious','malicious')),
      why text NOT NULL DEFAULT '',
      attributes jsonb NOT NULL DEFAULT '{}',
      source_alert_id uuid REFERENCES alerts(id),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (investigation_id, kind, key)
    )`.execute(db);
  await sql`CREATE INDEX investigation_entities_lookup ON investigation_entities (kind, key)`.execute(db);

  // A re-run step never duplicates its result: one row per investigation, step and scope round.
  await sql`
    CREATE TABLE step_log (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      investigation_id uuid NOT NULL REFERENCES investigations(id) ON DELETE CASCADE,
      step_key text NOT NULL,
      attempt_scope text NOT NULL,
      provider text NOT NULL,
      started_at timestamptz NOT NULL,
      ended_at timestamptz NOT NULL,
      outcome text NOT NULL CHECK (outcome IN ('succeeded','failed')),
      error text,
      summary jsonb NOT NULL DEFAULT '{}',
      UNIQUE (investigation_id, step_key, attempt_scope)
    )`.execute(db);

  await sql`
    CREATE TABLE findings (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      investigation_id uuid NOT NULL REFERENCES investigations(id) ON DELETE CASCADE,
      step_key text NOT NULL,
      attempt_scope text NOT NULL,
      key text NOT NULL,
      title text NOT NULL,
      verdict text NOT NULL,
      entity_kind text,
      entity_key text,
      details jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (investigation_id, step_key, attempt_scope, key)
    )`.execute(db);

  await sql`
    CREATE TABLE actions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      number bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
      investigation_id uuid NOT NULL REFERENCES investigations(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN
        ('disable_user','revoke_sessions','isolate_device','quarantine_file','block_indicator','revoke_oauth_consent')),
      target_kind text NOT NULL,
      target_key text NOT NULL,
      target_display text NOT NULL,
      target_count integer NOT NULL DEFAULT 1,
      privileged boolean NOT NULL DEFAULT false,
      approvals_needed integer NOT NULL DEFAULT 1,
      reason text NOT NULL,
      evidence jsonb NOT NULL DEFAULT '{}',
      status text NOT NULL CHECK (status IN ('pending_approval','approved','rejected','running','done','failed')),
      requested_by jsonb NOT NULL,
      requested_by_key text NOT NULL,
      result jsonb,
      error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (investigation_id, kind, target_key)
    )`.execute(db);
  await sql`CREATE INDEX actions_pending ON actions (created_at) WHERE status = 'pending_approval'`.execute(
    db,
  );

  await sql`
    CREATE TABLE action_decisions (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      action_id uuid NOT NULL REFERENCES actions(id) ON DELETE CASCADE,
      approver jsonb NOT NULL,
      approver_key text NOT NULL,
      decision text NOT NULL CHECK (decision IN ('approve','reject')),
      reason text,
      at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (action_id, approver_key)
    )`.execute(db);

  // The claim that makes execution at most once per approval: one row per action, claimed with a
  // lease before the remote call; the idempotency key goes to the remote so a re-claimed call after
  // a crash is recognised there.
  await sql`
    CREATE TABLE action_executions (
      action_id uuid PRIMARY KEY REFERENCES actions(id) ON DELETE CASCADE,
      idempotency_key text NOT NULL UNIQUE,
      executor text NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','claimed','done','failed')),
      attempts integer NOT NULL DEFAULT 0,
      claimed_until timestamptz,
      response jsonb,
      error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    )`.execute(db);

  await sql`
    CREATE TABLE watchlist (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      kind text NOT NULL CHECK (kind IN ('user','device','app','file','process','ip','url','mailbox')),
      value text NOT NULL,
      verdict text NOT NULL DEFAULT 'malicious' CHECK (verdict IN ('suspicious','malicious')),
      reason text NOT NULL,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (kind, value)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'watchlist',
    'action_executions',
    'action_decisions',
    'actions',
    'findings',
    'step_log',
    'investigation_entities',
    'investigation_alerts',
    'investigations',
    'investigation_rules',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
