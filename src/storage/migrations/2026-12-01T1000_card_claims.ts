import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * Card delivery without a transaction around the chat call, and coalesced notify work.
 *
 * - cards: a post or update is claimed first (`claimed_by` a token per claim, `lease_until`), the
 *   platform is called outside any transaction, and the result is recorded only while the claim
 *   is still the caller's. A card being posted for the first time is in state `posting`;
 *   `post_attempted_at` is written just before the platform is asked to post, so a later claimant
 *   knows a message may exist and looks for it before posting again.
 * - outbox: rows with a `dedupe_key` (notify: one per alert) coalesce while pending: a second
 *   request raises `requested` on the pending row instead of adding a row (and a job). The job
 *   completes the row only if `requested` has not moved since it started, else it runs again.
 *   Investigation changes refresh their alerts' cards through the same coalescing (the trigger
 *   function of 2026-11-23T1330 is redefined to write keyed rows).
 * - notify_platforms: chat platforms this install has delivered to; a platform turned on later
 *   gets the open alerts stored before it was (see scheduleForNewPlatforms).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE cards
    ADD COLUMN claimed_by text,
    ADD COLUMN lease_until timestamptz,
    ADD COLUMN post_attempted_at timestamptz,
    DROP CONSTRAINT cards_state_check,
    ADD CONSTRAINT cards_state_check CHECK (state IN ('active', 'failed', 'posting'))`.execute(db);
  await sql`ALTER TABLE outbox
    ADD COLUMN dedupe_key text,
    ADD COLUMN requested integer NOT NULL DEFAULT 1`.execute(db);
  await sql`CREATE UNIQUE INDEX outbox_pending_dedupe ON outbox (dedupe_key)
    WHERE dedupe_key IS NOT NULL AND completed_at IS NULL AND failed_at IS NULL`.execute(db);
  await refreshFunction(db, true);
  await sql`
    CREATE TABLE notify_platforms (
      platform text PRIMARY KEY,
      first_seen_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
}

/** The investigation trigger's card refresh, writing coalescing notify rows or (down) plain ones. */
async function refreshFunction(db: Kysely<any>, coalesce: boolean): Promise<void> {
  const insert = coalesce
    ? sql`INSERT INTO outbox (topic, payload, dedupe_key)
      SELECT 'notify', jsonb_build_object('alertId', id, 'reason', 'investigation'), 'notify:' || id
      FROM linked ORDER BY id
      ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL AND completed_at IS NULL AND failed_at IS NULL
      DO UPDATE SET requested = outbox.requested + 1`
    : sql`INSERT INTO outbox (topic, payload)
      SELECT 'notify', jsonb_build_object('alertId', id, 'reason', 'investigation') FROM linked`;
  await sql`
    CREATE OR REPLACE FUNCTION vigil_refresh_investigation_cards(investigation uuid) RETURNS void
    LANGUAGE plpgsql AS $$
    DECLARE
      touched integer;
    BEGIN
      WITH linked AS (
        UPDATE alerts SET revision = revision + 1, updated_at = now()
        WHERE id IN (SELECT alert_id FROM investigation_alerts WHERE investigation_id = investigation)
        RETURNING id
      )
      ${insert};
      GET DIAGNOSTICS touched = ROW_COUNT;
      IF touched > 0 THEN
        PERFORM pg_notify('vigil_outbox_' || current_schema(), '');
      END IF;
    END $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await refreshFunction(db, false);
  await sql`DROP TABLE IF EXISTS notify_platforms`.execute(db);
  await sql`DROP INDEX IF EXISTS outbox_pending_dedupe`.execute(db);
  await sql`ALTER TABLE outbox DROP COLUMN IF EXISTS dedupe_key, DROP COLUMN IF EXISTS requested`.execute(db);
  await sql`UPDATE cards SET state = 'active' WHERE state = 'posting'`.execute(db);
  await sql`ALTER TABLE cards
    DROP COLUMN IF EXISTS claimed_by,
    DROP COLUMN IF EXISTS lease_until,
    DROP COLUMN IF EXISTS post_attempted_at,
    DROP CONSTRAINT cards_state_check,
    ADD CONSTRAINT cards_state_check CHECK (state IN ('active', 'failed'))`.execute(db);
}
