import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureConcurrentIndexes } from '../../src/storage/concurrent-indexes.js';
import { preparedStatements, sessionOptions } from '../../src/storage/db.js';
import { type RelayedRow, relayPending } from '../../src/storage/outbox.repository.js';
import { startTestVigil, TEST_DATABASE_URL, type TestVigil } from '../helpers/harness.js';

// While the relay delivers card refreshes itself, each of its passes still hands the other topics'
// rows to the queues. Under a storm that pass must not walk the pending card refreshes to find them.
let vigil: TestVigil;

beforeAll(async () => {
  // No worker: the rows stay pending for the test to relay.
  vigil = await startTestVigil({ roles: { web: true, worker: false } });
  const response = await vigil.ingest('generic', {
    alerts: Array.from({ length: 300 }, (_, i) => ({
      title: `Storm ${i}`,
      source: 'storm',
      id: `storm-${i}`,
    })),
  });
  expect(response.status).toBe(202);
  await sql`INSERT INTO outbox (topic, payload) VALUES ('ticket', '{"remediationId": "r-1"}')`.execute(
    vigil.handle.db,
  );
  await ensureConcurrentIndexes(vigil.handle);
});
afterAll(async () => {
  await vigil?.close();
});

const sharing = { topics: ['notify'], most: 100, jobIdPrefix: 'test:' };

describe('a relay pass that leaves card refreshes to local delivery', () => {
  it('hands over the other topics’ rows and leaves every card refresh pending', async () => {
    const handed: RelayedRow[] = [];
    const moved = await relayPending(vigil.handle.db, 500, { ...sharing, keepNotify: true }, async (rows) => {
      handed.push(...rows);
    });
    expect(moved).toBe(1);
    expect(handed.map((row) => row.topic)).toEqual(['ticket']);
    const pending = await sql<{ n: number }>`SELECT count(*)::int AS n FROM outbox
      WHERE topic = 'notify' AND enqueued_at IS NULL`.execute(vigil.handle.db);
    expect(pending.rows[0]?.n).toBe(300);
  });

  it('reads the index of those rows alone, whatever the plan', async () => {
    const text = new Map(preparedStatements()).get('vigil_outbox_relay_queued');
    expect(text).toBeDefined();
    const client = new pg.Client({
      connectionString: TEST_DATABASE_URL,
      options: sessionOptions(vigil.schema),
    });
    await client.connect();
    try {
      await client.query('SET plan_cache_mode = force_generic_plan');
      await client.query(`PREPARE relay AS ${text}`);
      const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(
        'EXPLAIN (FORMAT JSON) EXECUTE relay(500, ARRAY[$$notify$$], 100, $$test:$$)',
      );
      const plan = JSON.stringify(rows[0]?.['QUERY PLAN']);
      expect(plan).toContain('"Index Name":"outbox_pending_queued"');
      expect(plan).not.toContain('"Index Name":"outbox_pending"');
    } finally {
      await client.end();
    }
  });
});
