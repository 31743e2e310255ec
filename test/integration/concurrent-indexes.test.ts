import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { ensureConcurrentIndexes, maintainConcurrentIndexes } from '../../src/storage/concurrent-indexes.js';
import { type DbHandle, openDb } from '../../src/storage/db.js';
import { migrate } from '../../src/storage/migrate.js';
import { TEST_DATABASE_URL } from '../helpers/harness.js';

// CREATE INDEX CONCURRENTLY waits for every older transaction of its database, whoever runs it:
// this file gets a database of its own, so other test files' transactions cannot hold it up.
const database = `vigil_cic_${randomBytes(4).toString('hex')}`;
let handle: DbHandle;

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await admin((client) => client.query(`CREATE DATABASE ${database}`));
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${database}`;
  handle = openDb({ url: url.toString(), schema: 'vigil', poolSize: 3 });
  const migrated = await migrate(handle);
  expect(migrated.error).toBeUndefined();
});
afterAll(async () => {
  await handle?.close();
  await admin((client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
});

const validity = async (name: string) =>
  (
    await sql<{ valid: boolean }>`SELECT i.indisvalid AS valid FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'vigil' AND c.relname = ${name}`.execute(handle.db)
  ).rows[0]?.valid;

describe('indexes on busy tables', () => {
  it('are built, and one left INVALID by an interrupted build is found and rebuilt concurrently', async () => {
    expect(await ensureConcurrentIndexes(handle)).toEqual({
      built: ['outbox_failed', 'outbox_completed', 'alerts_incident', 'outbox_due', 'outbox_pending_queued'],
      skipped: false,
    });
    expect(await validity('outbox_failed')).toBe(true);

    // A busy table (rows in it: the build goes CONCURRENTLY), and what an interrupted build leaves.
    await sql`INSERT INTO vigil.outbox (topic, payload) VALUES ('notify', '{}')`.execute(handle.db);
    await sql`UPDATE pg_index SET indisvalid = false
      WHERE indexrelid = 'vigil.outbox_failed'::regclass`.execute(handle.db);
    expect(await validity('outbox_failed')).toBe(false);

    expect(await ensureConcurrentIndexes(handle)).toEqual({ built: ['outbox_failed'], skipped: false });
    expect(await validity('outbox_failed')).toBe(true);
    // Nothing to do the time after.
    expect((await ensureConcurrentIndexes(handle)).built).toEqual([]);
  });

  it('leaves the work to the process already doing it', async () => {
    const lockKey = 'vigil.indexes.vigil';
    await handle.db.connection().execute(async (conn) => {
      await sql`SELECT pg_advisory_lock(hashtext(${lockKey}))`.execute(conn);
      try {
        expect(await ensureConcurrentIndexes(handle)).toEqual({ built: [], skipped: true });
      } finally {
        await sql`SELECT pg_advisory_unlock(hashtext(${lockKey}))`.execute(conn);
      }
    });
  });

  it('cancels a build that waits for another transaction when the process stops', async () => {
    await sql`DROP INDEX vigil.outbox_completed`.execute(handle.db);
    // An open transaction with a snapshot: a concurrent build waits for it to end.
    await handle.db.connection().execute(async (conn) => {
      await sql`BEGIN ISOLATION LEVEL REPEATABLE READ`.execute(conn);
      await sql`SELECT count(*) FROM vigil.outbox`.execute(conn);
      const maintenance = maintainConcurrentIndexes(handle, createLogger('silent'));
      try {
        await maintenance.stop();
      } finally {
        await sql`ROLLBACK`.execute(conn);
      }
    });
    // Stopped, not finished: the interrupted build left an INVALID index (or none); the next run repairs it.
    expect(await validity('outbox_completed')).not.toBe(true);
    expect((await ensureConcurrentIndexes(handle)).built).toEqual(['outbox_completed']);
    expect(await validity('outbox_completed')).toBe(true);
  });
});
