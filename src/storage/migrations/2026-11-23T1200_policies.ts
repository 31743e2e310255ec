import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * Policies (with every previous version kept), silences, on-call schedules and overrides,
 * escalation policies, pages and their steps, per-alert route targets chosen by policies, and
 * the muted flag on alerts. `policy_generation` rises with any change to policies or silences:
 * ingest reads it once per batch to know whether its compiled cache is still current.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE policies (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL UNIQUE,
      version integer NOT NULL DEFAULT 1,
      enabled boolean NOT NULL DEFAULT true,
      position integer NOT NULL DEFAULT 0,
      spec jsonb NOT NULL,
      updated_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  // Every version ever applied, the current one included; a deleted policy keeps its history.
  await sql`
    CREATE TABLE policy_versions (
      policy_id uuid NOT NULL,
      version integer NOT NULL,
      name text NOT NULL,
      spec jsonb,
      change text NOT NULL CHECK (change IN ('created','changed','deleted')),
      changed_by text NOT NULL,
      changed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (policy_id, version)
    )`.execute(db);
  await sql`CREATE TABLE policy_generation (id boolean PRIMARY KEY DEFAULT true CHECK (id), generation bigint NOT NULL)`.execute(
    db,
  );
  await sql`INSERT INTO policy_generation (generation) VALUES (1)`.execute(db);

  await sql`
    CREATE TABLE silences (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      labels jsonb NOT NULL,
      entities jsonb NOT NULL,
      starts_at timestamptz NOT NULL,
      ends_at timestamptz NOT NULL CHECK (ends_at > starts_at),
      created_by jsonb NOT NULL,
      comment text NOT NULL,
      muted_count bigint NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX silences_ends ON silences (ends_at)`.execute(db);
  await sql`ALTER TABLE alerts ADD COLUMN muted boolean NOT NULL DEFAULT false`.execute(db);
  await sql`ALTER TABLE alerts ADD COLUMN silence_id uuid REFERENCES silences(id) ON DELETE SET NULL`.execute(
    db,
  );

  await sql`
    CREATE TABLE schedules (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL UNIQUE,
      version integer NOT NULL DEFAULT 1,
      spec jsonb NOT NULL,
      updated_by text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`
    CREATE TABLE schedule_overrides (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      schedule_id uuid NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
      person jsonb NOT NULL,
      starts_at timestamptz NOT NULL,
      ends_at timestamptz NOT NULL CHECK (ends_at > starts_at),
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX schedule_overrides_window ON schedule_overrides (schedule_id, ends_at)`.execute(db);
  await sql`
    CREATE TABLE escalation_policies (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL UNIQUE,
      version integer NOT NULL DEFAULT 1,
      spec jsonb NOT NULL,
      updated_by text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  // A page copies its escalation policy when it starts: later edits do not change a page under way.
  await sql`
    CREATE TABLE pages (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      alert_id uuid NOT NULL REFERENCES alerts(id),
      escalation_policy_id uuid,
      escalation_policy jsonb NOT NULL,
      policy_id uuid,
      current_step integer NOT NULL DEFAULT -1,
      state text NOT NULL DEFAULT 'open' CHECK (state IN ('open','acknowledged','exhausted','cancelled')),
      stopped_reason text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (alert_id, escalation_policy_id)
    )`.execute(db);
  await sql`CREATE INDEX pages_open ON pages (alert_id) WHERE state = 'open'`.execute(db);
  // One row per step ever taken: the unique key is what keeps a re-run job from repeating a step.
  await sql`
    CREATE TABLE page_steps (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      page_id uuid NOT NULL REFERENCES pages(id),
      step_no integer NOT NULL,
      level integer NOT NULL,
      recipients jsonb NOT NULL,
      delivered jsonb NOT NULL DEFAULT '[]',
      due_at timestamptz NOT NULL,
      started_at timestamptz NOT NULL,
      finished_at timestamptz,
      UNIQUE (page_id, step_no)
    )`.execute(db);

  // Where policies sent an alert's cards, besides the platforms' own routes.
  await sql`
    CREATE TABLE alert_routes (
      alert_id uuid NOT NULL REFERENCES alerts(id),
      platform text NOT NULL CHECK (platform IN ('slack','teams')),
      target text NOT NULL,
      policy_id uuid,
      PRIMARY KEY (alert_id, platform, target)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'alert_routes',
    'page_steps',
    'pages',
    'escalation_policies',
    'schedule_overrides',
    'schedules',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  await sql`ALTER TABLE alerts DROP COLUMN IF EXISTS silence_id, DROP COLUMN IF EXISTS muted`.execute(db);
  for (const table of ['silences', 'policy_generation', 'policy_versions', 'policies']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
