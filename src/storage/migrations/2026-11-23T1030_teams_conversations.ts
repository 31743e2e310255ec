import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * Teams conversations the bot was added to: the reference a proactive message needs (serviceUrl
 * is per tenant and region), what the conversation subscribed to, and whether it still has the bot.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE teams_conversations (
      id text PRIMARY KEY,
      kind text NOT NULL,
      service_url text NOT NULL,
      tenant_id text,
      team_id text,
      channel_id text,
      name text,
      bot_id text,
      user_aad_object_id text,
      active boolean NOT NULL DEFAULT true,
      inactive_reason text,
      subscribed boolean NOT NULL DEFAULT false,
      min_severity text CHECK (min_severity IN ('informational','low','medium','high','critical')),
      sources text[],
      subscribed_by text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  // The notify worker asks for the routed conversations on every delivery.
  await sql`CREATE INDEX teams_conversations_routed ON teams_conversations (id) WHERE active AND subscribed`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('teams_conversations').ifExists().execute();
}
