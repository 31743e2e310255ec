import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  startTestVigil,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  type TestVigil,
} from '../helpers/harness.js';
import { terminateConnections } from '../helpers/postgres-faults.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

// Vigil reaches the shared Postgres and Redis through proxies this file can cut, and its
// connections carry an application_name of their own: nothing here touches another file's.
const applicationName = `vigil_blips_${randomBytes(4).toString('hex')}`;
let postgresProxy: TcpProxy;
let redisProxy: TcpProxy;
let vigil: TestVigil;

const hostPort = (url: string) => {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) };
};

beforeAll(async () => {
  postgresProxy = await startTcpProxy(hostPort(TEST_DATABASE_URL));
  redisProxy = await startTcpProxy(hostPort(TEST_REDIS_URL));
  const databaseUrl = new URL(TEST_DATABASE_URL);
  databaseUrl.host = postgresProxy.host;
  vigil = await startTestVigil({
    databaseUrl: databaseUrl.toString(),
    env: {
      REDIS_URL: `redis://${redisProxy.host}`,
      VIGIL_DB_APPLICATION_NAME: applicationName,
      // A card claim whose answer is lost with its connection holds the card until its lease runs
      // out (by design: the claimer may still be alive); a short lease keeps that wait inside the test's.
      VIGIL_CARD_LEASE_MS: '3000',
    },
    relayTimings: { pollMs: 200, redriveAfterMs: 2_000, redriveEveryMs: 500 },
  });
});
afterAll(async () => {
  postgresProxy?.restore();
  redisProxy?.restore();
  await vigil?.close();
  await postgresProxy?.close();
  await redisProxy?.close();
});

async function ingest(title: string): Promise<string> {
  const response = await vigil.ingest('generic', { title, source: 'blips', fingerprint: title });
  expect(response.status).toBe(202);
  return ((await response.json()) as { alerts: { id: string }[] }).alerts[0]?.id as string;
}

/** The alert's card is recorded and its outbox row done: delivery went all the way through. */
async function delivered(alertId: string): Promise<boolean> {
  const card = await vigil.handle.db
    .selectFrom('cards')
    .select('id')
    .where('alert_id', '=', alertId)
    .executeTakeFirst();
  const unfinished = await vigil.handle.db
    .selectFrom('outbox')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('completed_at', 'is', null)
    .executeTakeFirstOrThrow();
  return card !== undefined && Number(unfinished.count) === 0;
}

const readyz = async () => {
  const response = await fetch(`${vigil.baseUrl}/readyz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('Vigil rides out its dependencies going away', () => {
  it('keeps running when Postgres terminates a connection checked out between two queries', async () => {
    // A transaction waiting on something else (a job between its queries) holds its client out
    // of the pool, where pg-pool's idle error listener does not cover it.
    const client = await vigil.handle.pool.connect();
    await client.query('BEGIN');
    expect(await terminateConnections(applicationName)).toBeGreaterThan(0);
    const failure = await eventually(
      () =>
        client.query('SELECT 1').then(
          () => false,
          (error: Error) => error,
        ),
      10_000,
      'the terminated client to fail',
    );
    client.release(failure);

    const alertId = await eventually(() => ingest('After the terminate').catch(() => undefined), 10_000);
    await eventually(() => delivered(alertId), 20_000, 'the card after the terminate');
  });

  it('finishes the work of alerts whose jobs lost their connections mid-flight', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => ingest(`Storm ${i}`)));
    await terminateConnections(applicationName);
    await terminateConnections(applicationName);
    for (const id of ids) await eventually(() => delivered(id), 30_000, `the card of ${id}`);
  });

  it('answers 503 on /readyz while Postgres is unreachable, then 200, and resumes work', async () => {
    postgresProxy.cut();
    const down = await eventually(async () => {
      const probe = await readyz();
      return probe.status === 503 ? probe : undefined;
    });
    expect(down.body).toMatchObject({ postgres: false, redis: true });
    // An alert sent meanwhile gets an answer that says to retry, not a 500.
    const refused = await vigil.ingest('generic', { title: 'During the Postgres outage', source: 'blips' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toMatchObject({ error: { code: 'service.unavailable' } });

    postgresProxy.restore();
    await eventually(async () => (await readyz()).status === 200, 20_000, '/readyz after Postgres is back');
    const alertId = await ingest('After the Postgres outage');
    await eventually(() => delivered(alertId), 20_000, 'the card after the Postgres outage');
  });

  it('answers 503 on /readyz while Redis is unreachable, then 200, and resumes work', async () => {
    redisProxy.cut();
    const down = await eventually(async () => {
      const probe = await readyz();
      return probe.status === 503 ? probe : undefined;
    });
    expect(down.body).toMatchObject({ postgres: true, redis: false });
    // Alerts are still accepted: the outbox keeps their work until Redis is back.
    const alertId = await ingest('During the Redis outage');

    redisProxy.restore();
    await eventually(async () => (await readyz()).status === 200, 20_000, '/readyz after Redis is back');
    await eventually(() => delivered(alertId), 30_000, 'the card after the Redis outage');
  });

  it('waits at start-up for a Postgres that is not reachable yet, instead of exiting', async () => {
    const proxy = await startTcpProxy(hostPort(TEST_DATABASE_URL));
    proxy.cut();
    const databaseUrl = new URL(TEST_DATABASE_URL);
    databaseUrl.host = proxy.host;
    const starting = startTestVigil({
      databaseUrl: databaseUrl.toString(),
      roles: { web: true, worker: false },
    });
    try {
      await eventually(async () => proxy.refused() >= 2, 20_000, 'two attempts to reach Postgres');
      proxy.restore();
      const late = await starting;
      await eventually(async () => (await fetch(`${late.baseUrl}/readyz`)).status === 200, 20_000, 'ready');
      await late.close();
    } finally {
      proxy.restore();
      await proxy.close();
    }
  });
});
