import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/storage/embedded-postgres.js';
import {
  deleteRedisKeys,
  dropSchema,
  eventually,
  INGEST_TOKEN,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
} from '../helpers/harness.js';
import { terminateConnections } from '../helpers/postgres-faults.js';

// A real `vigil serve` process: what a supervisor runs. Its connections carry an application_name
// of their own, so terminating them touches no other test file.
const id = randomBytes(4).toString('hex');
const schema = `t_life_${id}`;
const prefix = `test-life-${id}`;
const applicationName = `vigil_life_${id}`;
let child: ChildProcessWithoutNullStreams;
let output = '';
let baseUrl: string;
let db: pg.Client;

beforeAll(async () => {
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      DATABASE_URL: TEST_DATABASE_URL,
      REDIS_URL: TEST_REDIS_URL,
      VIGIL_DB_SCHEMA: schema,
      VIGIL_QUEUE_PREFIX: prefix,
      VIGIL_DB_APPLICATION_NAME: applicationName,
      VIGIL_INGEST_TOKEN: INGEST_TOKEN,
      // A card whose claim could not be recorded or released (its connection was cut) waits for its
      // lease to run out; a short lease keeps that recovery well inside the test's wait.
      VIGIL_CARD_LEASE_MS: '3000',
      LOG_LEVEL: 'info',
    },
  });
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await eventually(async () => output.includes('Vigil is running') || child.exitCode !== null, 60_000);
  expect(child.exitCode, output).toBeNull();
  db = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}` });
  await db.connect();
}, 90_000);
afterAll(async () => {
  if (child.exitCode === null) child.kill('SIGKILL');
  await db?.end();
  await dropSchema(schema);
  await deleteRedisKeys(prefix);
});

async function ingest(title: string): Promise<string> {
  const response = await fetch(`${baseUrl}/ingest/generic`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
    body: JSON.stringify({ title, fingerprint: title }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { alerts: { id: string }[] }).alerts[0]?.id as string;
}

const allDelivered = async (ids: readonly string[]) => {
  const cards = await db.query('SELECT count(*)::int AS n FROM cards WHERE alert_id = ANY($1::uuid[])', [
    ids,
  ]);
  const open = await db.query('SELECT count(*)::int AS n FROM outbox WHERE completed_at IS NULL');
  return cards.rows[0].n === ids.length && open.rows[0].n === 0;
};

describe('a Vigil process under a supervisor', () => {
  it('stays up when Postgres terminates its connections mid-work, and finishes the work', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, (_, n) => ingest(`Before ${n}`)));
    expect(await terminateConnections(applicationName)).toBeGreaterThan(0);
    await terminateConnections(applicationName);
    ids.push(await eventually(() => ingest('After').catch(() => undefined), 20_000));
    await eventually(() => allDelivered(ids), 60_000, 'every card after the terminations');
    expect(child.exitCode, output).toBeNull();
    expect(output).not.toContain('Unhandled');
  }, 100_000);

  it('stops on SIGTERM with exit code 0, once its server, relay and workers have stopped', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited, output).toBe(0);
    expect(output).toContain('"signal":"SIGTERM","msg":"stopped"');
  }, 60_000);
});
