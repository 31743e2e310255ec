import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * Alert cards show the alert's investigations and the actions waiting for approval, so a change
 * to either must refresh every card of the alerts concerned. Investigations and actions are
 * written from several places (planning at ingest, the investigate and act workers, approvals);
 * triggers make the refresh part of every such transaction, so no path can forget it: the linked
 * alerts' revision rises and a notify outbox row is written, exactly as a status change does.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE FUNCTION vigil_refresh_investigation_cards(investigation uuid) RETURNS void
    LANGUAGE plpgsql AS $$
    DECLARE
      touched integer;
    BEGIN
      WITH linked AS (
        UPDATE alerts SET revision = revision + 1, updated_at = now()
        WHERE id IN (SELECT alert_id FROM investigation_alerts WHERE investigation_id = investigation)
        RETURNING id
      )
      INSERT INTO outbox (topic, payload)
      SELECT 'notify', jsonb_build_object('alertId', id, 'reason', 'investigation') FROM linked;
      GET DIAGNOSTICS touched = ROW_COUNT;
      IF touched > 0 THEN
        PERFORM pg_notify('vigil_outbox_' || current_schema(), '');
      END IF;
    END $$`.execute(db);

  await sql`
    CREATE FUNCTION vigil_investigation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- Read through jsonb: each table names the investigation differently, and PL/pgSQL
      -- resolves a record's fields even in the branches of a CASE that are not taken.
      PERFORM vigil_refresh_investigation_cards(
        CASE TG_TABLE_NAME
          WHEN 'investigations' THEN (to_jsonb(NEW)->>'id')::uuid
          WHEN 'action_decisions' THEN
            (SELECT investigation_id FROM actions WHERE id = (to_jsonb(NEW)->>'action_id')::uuid)
          ELSE (to_jsonb(NEW)->>'investigation_id')::uuid
        END);
      RETURN NULL;
    END $$`.execute(db);

  await sql`CREATE TRIGGER investigation_status_cards AFTER UPDATE OF status ON investigations
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION vigil_investigation_changed()`.execute(
    db,
  );
  await sql`CREATE TRIGGER investigation_alert_cards AFTER INSERT ON investigation_alerts
    FOR EACH ROW EXECUTE FUNCTION vigil_investigation_changed()`.execute(db);
  await sql`CREATE TRIGGER action_insert_cards AFTER INSERT ON actions
    FOR EACH ROW EXECUTE FUNCTION vigil_investigation_changed()`.execute(db);
  await sql`CREATE TRIGGER action_status_cards AFTER UPDATE OF status ON actions
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION vigil_investigation_changed()`.execute(
    db,
  );
  await sql`CREATE TRIGGER action_decision_cards AFTER INSERT ON action_decisions
    FOR EACH ROW EXECUTE FUNCTION vigil_investigation_changed()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [trigger, table] of [
    ['investigation_status_cards', 'investigations'],
    ['investigation_alert_cards', 'investigation_alerts'],
    ['action_insert_cards', 'actions'],
    ['action_status_cards', 'actions'],
    ['action_decision_cards', 'action_decisions'],
  ] as const) {
    await sql`DROP TRIGGER IF EXISTS ${sql.id(trigger)} ON ${sql.id(table)}`.execute(db);
  }
  await sql`DROP FUNCTION IF EXISTS vigil_investigation_changed()`.execute(db);
  await sql`DROP FUNCTION IF EXISTS vigil_refresh_investigation_cards(uuid)`.execute(db);
}
