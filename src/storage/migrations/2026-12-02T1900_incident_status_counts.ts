import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * How many alerts of each incident are in each status, kept by Postgres itself: every card of an
 * incident's alerts shows these counts, and counting the alerts for each card made a storm of N
 * alerts in one incident cost N² rows read. Every statement that inserts, deletes, moves or changes
 * the status of alerts goes through the triggers, so no path can forget the counts.
 *
 * Two steps, so that a busy incident's counts row is neither a deadlock nor a hot spot:
 * - each statement on `alerts` writes, per incident it moved, one row of deltas (a set-based sum
 *   over its transition tables; no lock on anything shared);
 * - at commit, a deferred trigger adds each delta row to the counts (`n = n + delta`, under the
 *   row lock, so concurrent changes are never lost) and drops it. The counts row is locked after
 *   every alert lock the transaction takes, never between two, so two transactions changing
 *   alerts of one incident (a pull page and "resolve incident") wait on each other's alert rows as
 *   before and never on the counts; and one row update per statement, not per alert.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE incident_status_counts (
      incident_id uuid PRIMARY KEY REFERENCES incidents(id) ON DELETE CASCADE,
      new_count integer NOT NULL DEFAULT 0,
      in_progress_count integer NOT NULL DEFAULT 0,
      resolved_count integer NOT NULL DEFAULT 0
    )`.execute(db);
  // Only ever holds the rows of transactions not yet committed.
  await sql`
    CREATE TABLE incident_status_deltas (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      incident_id uuid NOT NULL,
      new_count integer NOT NULL,
      in_progress_count integer NOT NULL,
      resolved_count integer NOT NULL
    )`.execute(db);

  await sql`
    CREATE FUNCTION vigil_alerts_counted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- Each branch names only the transition tables its operation has.
      IF TG_OP = 'INSERT' THEN
        INSERT INTO incident_status_deltas (incident_id, new_count, in_progress_count, resolved_count)
        SELECT incident_id, count(*) FILTER (WHERE status = 'new'),
          count(*) FILTER (WHERE status = 'in_progress'), count(*) FILTER (WHERE status = 'resolved')
        FROM new_rows WHERE incident_id IS NOT NULL GROUP BY incident_id ORDER BY incident_id;
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO incident_status_deltas (incident_id, new_count, in_progress_count, resolved_count)
        SELECT incident_id, -count(*) FILTER (WHERE status = 'new'),
          -count(*) FILTER (WHERE status = 'in_progress'), -count(*) FILTER (WHERE status = 'resolved')
        FROM old_rows WHERE incident_id IS NOT NULL GROUP BY incident_id ORDER BY incident_id;
      ELSE
        -- A row whose incident and status did not change counts +1 and -1: it sums to nothing.
        INSERT INTO incident_status_deltas (incident_id, new_count, in_progress_count, resolved_count)
        SELECT * FROM (
          SELECT incident_id, coalesce(sum(d) FILTER (WHERE status = 'new'), 0) AS n,
            coalesce(sum(d) FILTER (WHERE status = 'in_progress'), 0) AS p,
            coalesce(sum(d) FILTER (WHERE status = 'resolved'), 0) AS r
          FROM (SELECT incident_id, status, 1 AS d FROM new_rows WHERE incident_id IS NOT NULL
            UNION ALL SELECT incident_id, status, -1 FROM old_rows WHERE incident_id IS NOT NULL) AS moved
          GROUP BY incident_id) AS deltas
        WHERE n <> 0 OR p <> 0 OR r <> 0
        ORDER BY incident_id;
      END IF;
      RETURN NULL;
    END $$`.execute(db);

  await sql`
    CREATE FUNCTION vigil_apply_incident_delta() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO incident_status_counts AS c (incident_id, new_count, in_progress_count, resolved_count)
      VALUES (NEW.incident_id, NEW.new_count, NEW.in_progress_count, NEW.resolved_count)
      ON CONFLICT (incident_id) DO UPDATE SET
        new_count = c.new_count + excluded.new_count,
        in_progress_count = c.in_progress_count + excluded.in_progress_count,
        resolved_count = c.resolved_count + excluded.resolved_count;
      DELETE FROM incident_status_deltas WHERE id = NEW.id;
      RETURN NULL;
    END $$`.execute(db);

  await sql`CREATE TRIGGER alerts_counted_insert AFTER INSERT ON alerts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vigil_alerts_counted()`.execute(db);
  await sql`CREATE TRIGGER alerts_counted_update AFTER UPDATE ON alerts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_alerts_counted()`.execute(db);
  await sql`CREATE TRIGGER alerts_counted_delete AFTER DELETE ON alerts
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION vigil_alerts_counted()`.execute(db);
  await sql`CREATE CONSTRAINT TRIGGER incident_status_deltas_apply AFTER INSERT ON incident_status_deltas
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION vigil_apply_incident_delta()`.execute(db);

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
  for (const trigger of ['alerts_counted_insert', 'alerts_counted_update', 'alerts_counted_delete']) {
    await sql`DROP TRIGGER IF EXISTS ${sql.id(trigger)} ON alerts`.execute(db);
  }
  await sql`DROP FUNCTION IF EXISTS vigil_alerts_counted()`.execute(db);
  await db.schema.dropTable('incident_status_deltas').ifExists().execute();
  await sql`DROP FUNCTION IF EXISTS vigil_apply_incident_delta()`.execute(db);
  await db.schema.dropTable('incident_status_counts').ifExists().execute();
}
