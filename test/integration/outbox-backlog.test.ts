import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/storage/db.js';
import { claimDueNotifyRows } from '../../src/storage/outbox.repository.js';
import { startTestVigil, TEST_DATABASE_URL, type TestVigil } from '../helpers/harness.js';

// A storm's backlog arrives faster than autovacuum's statistics follow: the planner still believes
// the outbox has no pending row. Claims must then cost what they take, not what waits behind them.
let vigil: TestVigil;

beforeAll(async () => {
  // No worker: the rows stay pending for the test to claim.
  vigil = await startTestVigil({ roles: { web: true, worker: false } });
  // Statistics taken while nothing was pending, and kept: autovacuum must not refresh them mid-test.
  await sql`ALTER TABLE outbox SET (autovacuum_enabled = false)`.execute(vigil.handle.db);
  await sql`ALTER TABLE alerts SET (autovacuum_enabled = false)`.execute(vigil.handle.db);
  await sql`ANALYZE outbox`.execute(vigil.handle.db);
  await sql`ANALYZE alerts`.execute(vigil.handle.db);
  const response = await vigil.ingest('generic', {
    alerts: Array.from({ length: 600 }, (_, i) => ({
      title: `Backlog ${i}`,
      source: 'backlog',
      id: `backlog-${i}`,
      severity: 'low',
    })),
  });
  expect(response.status).toBe(202);
});
afterAll(async () => {
  await vigil?.close();
});

/** Runs `check` in a transaction that is then rolled back, so every test claims from the same backlog. */
async function thenRollBack(check: (trx: Db) => Promise<void>): Promise<void> {
  const rollBack = new Error('roll back');
  await vigil.handle.db
    .transaction()
    .execute(async (trx) => {
      await check(trx);
      throw rollBack;
    })
    .catch((error: unknown) => {
      if (error !== rollBack) throw error;
    });
}

describe('a notify backlog the statistics have not seen', () => {
  it('is claimed oldest first, locking only the alerts of the rows taken', async () => {
    const pending = await vigil.handle.db
      .selectFrom('outbox')
      .select('id')
      .where('topic', '=', 'notify')
      .where('enqueued_at', 'is', null)
      .orderBy('id')
      .execute();
    expect(pending).toHaveLength(600);

    await thenRollBack(async (trx) => {
      const claimed = await claimDueNotifyRows(trx, 10);
      expect(claimed.map((row) => row.id).sort((a, b) => Number(a) - Number(b))).toEqual(
        pending.slice(0, 10).map((row) => String(row.id)),
      );
      // FOR KEY SHARE writes the locker's transaction ID into each locked alert: one per row taken.
      const { rows } = await sql<{ locked: string }>`
        SELECT count(*) AS locked FROM alerts WHERE xmax = pg_current_xact_id()::xid`.execute(trx);
      expect(Number(rows[0]?.locked)).toBe(10);
    });
  });

  it('walks the backlog by a plain index scan, which skips the entries of rows already claimed', async () => {
    // A bitmap scan never marks an index entry dead: every claim would read the entry and the heap
    // tuple of every row claimed since the last VACUUM (18,000 of them per claim in a 10 s storm).
    await thenRollBack(async (trx) => {
      await claimDueNotifyRows(trx, 10);
      const { rows } = await sql<{ 'QUERY PLAN': unknown }>`
        EXPLAIN (FORMAT JSON) EXECUTE vigil_outbox_claim_done(10)`.execute(trx);
      const plan = JSON.stringify(rows[0]?.['QUERY PLAN']);
      expect(plan).toContain('"Index Name":"outbox_pending"');
      expect(plan).not.toContain('Bitmap');
    });
  });

  it('leaves the row of an alert a change holds unlocked, for that change to fold into', async () => {
    const pending = await vigil.handle.db
      .selectFrom('outbox')
      .select(['id', 'payload'])
      .where('topic', '=', 'notify')
      .where('enqueued_at', 'is', null)
      .orderBy('id')
      .limit(11)
      .execute();
    const [first] = pending;
    if (first === undefined) throw new Error('no pending row');
    const heldAlert = (first.payload as { alertId: string }).alertId;
    // A status change holds its alert FOR UPDATE, then folds a refresh into the alert's notify row.
    const others = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
    const change = await others.connect();
    const probe = await others.connect();
    try {
      await change.query('BEGIN');
      await change.query(`SELECT id FROM "${vigil.schema}".alerts WHERE id = $1 FOR UPDATE`, [heldAlert]);
      await thenRollBack(async (trx) => {
        const claimed = await claimDueNotifyRows(trx, 10);
        expect(claimed.map((row) => row.id).sort((a, b) => Number(a) - Number(b))).toEqual(
          pending.slice(1, 11).map((row) => String(row.id)),
        );
        // The skipped row is free while the claim's transaction is open: the change need not wait for it.
        const { rows } = await probe.query(
          `SELECT id FROM "${vigil.schema}".outbox WHERE id = $1 FOR UPDATE NOWAIT`,
          [first.id],
        );
        expect(rows).toHaveLength(1);
      });
    } finally {
      await change.query('ROLLBACK');
      change.release();
      probe.release();
      await others.end();
    }
  });
});
