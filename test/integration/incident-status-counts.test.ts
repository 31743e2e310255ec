import { randomBytes } from 'node:crypto';
import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DbHandle, openDb } from '../../src/storage/db.js';
import { MIGRATIONS, migrate } from '../../src/storage/migrate.js';
import { dropSchema, TEST_DATABASE_URL } from '../helpers/harness.js';

// The per-incident status counts the cards show, kept by triggers on alerts (2026-12-02T1900):
// checked against counting the alerts themselves after every kind of change.
const COUNTS_MIGRATION = '2026-12-02T1900_incident_status_counts';
const schema = `t_inc_counts_${randomBytes(4).toString('hex')}`;
let handle: DbHandle;

beforeAll(async () => {
  handle = openDb({ url: TEST_DATABASE_URL, schema, poolSize: 6 });
  await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(handle.db);
  // At the migration before the counts, so the back-fill has alerts to count.
  const migrator = new Migrator({
    db: handle.db.withSchema(schema),
    provider: {
      getMigrations: async () =>
        Object.fromEntries(Object.entries(MIGRATIONS).filter(([name]) => name < COUNTS_MIGRATION)),
    },
    migrationTableSchema: schema,
  });
  expect((await migrator.migrateToLatest()).error).toBeUndefined();
});
afterAll(async () => {
  await handle?.close();
  await dropSchema(schema);
});

const incident = async (graphId: string): Promise<string> =>
  (
    await sql<{ id: string }>`INSERT INTO incidents (graph_id) VALUES (${graphId}) RETURNING id`.execute(
      handle.db,
    )
  ).rows[0]?.id as string;

let serial = 0;
const alert = async (incidentId: string | null, status = 'new'): Promise<string> => {
  serial += 1;
  const classification = status === 'resolved' ? 'true_positive' : null;
  return (
    await sql<{ id: string }>`INSERT INTO alerts
      (source, fingerprint, title, description, severity, labels, links, first_seen_at, last_seen_at,
       status, classification, incident_id)
      VALUES ('test', ${`test:${serial}`}, 'A', '', 'high', '{}', '[]', now(), now(),
        ${status}, ${classification}, ${incidentId}) RETURNING id`.execute(handle.db)
  ).rows[0]?.id as string;
};

/** What the triggers keep, and what counting the alerts gives: the two must always agree. */
async function countsOf(incidentId: string) {
  const kept = await sql<{ new: number; in_progress: number; resolved: number }>`
    SELECT new_count AS new, in_progress_count AS in_progress, resolved_count AS resolved
    FROM incident_status_counts WHERE incident_id = ${incidentId}`.execute(handle.db);
  const counted = await sql<{ new: number; in_progress: number; resolved: number }>`
    SELECT (count(*) FILTER (WHERE status = 'new'))::int AS new,
      (count(*) FILTER (WHERE status = 'in_progress'))::int AS in_progress,
      (count(*) FILTER (WHERE status = 'resolved'))::int AS resolved
    FROM alerts WHERE incident_id = ${incidentId}`.execute(handle.db);
  return { kept: kept.rows[0] ?? { new: 0, in_progress: 0, resolved: 0 }, counted: counted.rows[0] };
}

const setStatus = (alertId: string, status: string) =>
  sql`UPDATE alerts SET status = ${status},
    classification = ${status === 'resolved' ? 'true_positive' : null} WHERE id = ${alertId}`.execute(
    handle.db,
  );

describe('incident status counts', () => {
  it('are back-filled for the alerts stored before, then kept through inserts, status changes, moves and deletes', async () => {
    const old = await incident('old-1');
    await alert(old);
    await alert(old, 'in_progress');
    await alert(old, 'resolved');
    await alert(null);

    expect((await migrate(handle)).error).toBeUndefined();
    expect(await countsOf(old)).toEqual({
      kept: { new: 1, in_progress: 1, resolved: 1 },
      counted: { new: 1, in_progress: 1, resolved: 1 },
    });

    const a = await incident('a');
    const b = await incident('b');
    const first = await alert(a);
    const second = await alert(a);
    const loose = await alert(null);
    await setStatus(first, 'in_progress');
    // Moved between incidents, joined from none, and changed in the same statement as a move.
    await sql`UPDATE alerts SET incident_id = ${b} WHERE id = ${second}`.execute(handle.db);
    await sql`UPDATE alerts SET incident_id = ${a}, status = 'in_progress' WHERE id = ${loose}`.execute(
      handle.db,
    );
    expect(await countsOf(a)).toEqual({
      kept: { new: 0, in_progress: 2, resolved: 0 },
      counted: { new: 0, in_progress: 2, resolved: 0 },
    });
    expect((await countsOf(b)).kept).toEqual({ new: 1, in_progress: 0, resolved: 0 });

    // Several changes of one alert in one transaction count once, as the alert ends.
    await handle.db.transaction().execute(async (trx) => {
      await sql`UPDATE alerts SET status = 'new' WHERE id = ${first}`.execute(trx);
      await sql`UPDATE alerts SET incident_id = NULL WHERE id = ${first}`.execute(trx);
      await sql`UPDATE alerts SET incident_id = ${b} WHERE id = ${first}`.execute(trx);
    });
    await sql`DELETE FROM alerts WHERE id = ${loose}`.execute(handle.db);
    expect((await countsOf(a)).kept).toEqual({ new: 0, in_progress: 0, resolved: 0 });
    expect(await countsOf(b)).toEqual({
      kept: { new: 2, in_progress: 0, resolved: 0 },
      counted: { new: 2, in_progress: 0, resolved: 0 },
    });

    // A rolled-back change counts nothing.
    await handle.db
      .transaction()
      .execute(async (trx) => {
        await sql`UPDATE alerts SET status = 'in_progress' WHERE incident_id = ${b}`.execute(trx);
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    expect((await countsOf(b)).kept).toEqual({ new: 2, in_progress: 0, resolved: 0 });
    // The deltas of a statement live only until their transaction commits (or rolls back).
    const pending = await sql<{ n: number }>`SELECT count(*)::int AS n FROM incident_status_deltas`.execute(
      handle.db,
    );
    expect(pending.rows[0]?.n).toBe(0);
  });

  it('lose no change when many transactions change alerts of one incident at once', async () => {
    const busy = await incident('busy');
    const other = await incident('busy-other');
    const ids = await Promise.all(Array.from({ length: 40 }, () => alert(busy)));
    // Each transaction changes one alert of the incident; every fourth then moves it to the other.
    await Promise.all(
      ids.map((id, n) =>
        handle.db.transaction().execute(async (trx) => {
          await sql`UPDATE alerts SET status = 'in_progress' WHERE id = ${id}`.execute(trx);
          if (n % 4 === 0) await sql`UPDATE alerts SET incident_id = ${other} WHERE id = ${id}`.execute(trx);
        }),
      ),
    );
    const busyCounts = await countsOf(busy);
    expect(busyCounts.kept).toEqual(busyCounts.counted);
    expect(busyCounts.kept).toEqual({ new: 0, in_progress: 30, resolved: 0 });
    const otherCounts = await countsOf(other);
    expect(otherCounts.kept).toEqual(otherCounts.counted);
    expect(otherCounts.kept.in_progress).toBe(10);
  });
});
