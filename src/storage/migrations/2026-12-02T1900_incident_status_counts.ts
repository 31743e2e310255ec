import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * How many alerts of each incident are in each status, kept by Postgres itself: every card of an
 * incident's alerts shows these counts, and counting the alerts for each card made a storm of N
 * alerts in one incident cost N² rows read. Every path that inserts, deletes, moves or changes the
 * status of an alert goes through the triggers, so none can forget the counts.
 *
 * The triggers are deferred to commit: the counts row of an incident is then locked after every
 * alert lock the transaction takes, never between two, so two transactions changing alerts of one
 * incident (a pull page and "resolve incident") wait on each other's alert rows as before and do
 * not deadlock on the counts. Increments are relative (`n = n + delta`) under the row lock, so
 * concurrent changes are never lost.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE incident_status_counts (
      incident_id uuid PRIMARY KEY REFERENCES incidents(id) ON DELETE CASCADE,
      new_count integer NOT NULL DEFAULT 0,
      in_progress_count integer NOT NULL DEFAULT 0,
      resolved_count integer NOT NULL DEFAULT 0
    )`.execute(db);

  await sql`
    CREATE FUNCTION vigil_count_incident_status(incident uuid, status text, delta integer) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO incident_status_counts AS c (incident_id, new_count, in_progress_count, resolved_count)
      VALUES (incident,
        CASE WHEN status = 'new' THEN delta ELSE 0 END,
        CASE WHEN status = 'in_progress' THEN delta ELSE 0 END,
        CASE WHEN status = 'resolved' THEN delta ELSE 0 END)
      ON CONFLICT (incident_id) DO UPDATE SET
        new_count = c.new_count + excluded.new_count,
        in_progress_count = c.in_progress_count + excluded.in_progress_count,
        resolved_count = c.resolved_count + excluded.resolved_count;
    END $$`.execute(db);

  await sql`
    CREATE FUNCTION vigil_alert_incident_counts() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.incident_id IS NOT NULL THEN
        PERFORM vigil_count_incident_status(OLD.incident_id, OLD.status, -1);
      END IF;
      IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.incident_id IS NOT NULL THEN
        PERFORM vigil_count_incident_status(NEW.incident_id, NEW.status, 1);
      END IF;
      RETURN NULL;
    END $$`.execute(db);

  await sql`CREATE CONSTRAINT TRIGGER alert_incident_counts_insert AFTER INSERT ON alerts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.incident_id IS NOT NULL)
    EXECUTE FUNCTION vigil_alert_incident_counts()`.execute(db);
  await sql`CREATE CONSTRAINT TRIGGER alert_incident_counts_update AFTER UPDATE OF status, incident_id ON alerts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.incident_id IS DISTINCT FROM NEW.incident_id)
    EXECUTE FUNCTION vigil_alert_incident_counts()`.execute(db);
  await sql`CREATE CONSTRAINT TRIGGER alert_incident_counts_delete AFTER DELETE ON alerts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.incident_id IS NOT NULL)
    EXECUTE FUNCTION vigil_alert_incident_counts()`.execute(db);

  // The counts of the alerts already stored; this transaction's lock keeps writers out meanwhile.
  await sql`LOCK TABLE alerts IN SHARE MODE`.execute(db);
  await sql`
    INSERT INTO incident_status_counts (incident_id, new_count, in_progress_count, resolved_count)
    SELECT incident_id,
      count(*) FILTER (WHERE status = 'new'),
      count(*) FILTER (WHERE status = 'in_progress'),
      count(*) FILTER (WHERE status = 'resolved')
    FROM alerts WHERE incident_id IS NOT NULL GROUP BY incident_id`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const trigger of [
    'alert_incident_counts_insert',
    'alert_incident_counts_update',
    'alert_incident_counts_delete',
  ]) {
    await sql`DROP TRIGGER IF EXISTS ${sql.id(trigger)} ON alerts`.execute(db);
  }
  await sql`DROP FUNCTION IF EXISTS vigil_alert_incident_counts()`.execute(db);
  await sql`DROP FUNCTION IF EXISTS vigil_count_incident_status(uuid, text, integer)`.execute(db);
  await db.schema.dropTable('incident_status_counts').ifExists().execute();
}
