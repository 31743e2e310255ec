import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis } from '../../src/demo/redis-server.js';
import { OutboxRelay } from '../../src/jobs/outbox-relay.js';
import { closeQueues, createQueues, NEW_CARD_PRIORITY } from '../../src/jobs/queues.js';
import { redisConnection } from '../../src/jobs/redis.js';
import { createLogger } from '../../src/logger.js';
import { eventually, startTestVigil, TEST_DATABASE_URL, type TestVigil } from '../helpers/harness.js';

// FLUSHALL wipes a whole Redis, so this file runs against a private redis-server of its own
// instead of the shared one that the other test files use in parallel.
let redis: { url: string; stop(): Promise<void> };
let web: TestVigil;

beforeAll(async () => {
  const started = await startPrivateRedis(await mkdtemp(path.join(tmpdir(), 'vigil-redis-')));
  if (started === null) throw new Error('redis-server is not on the PATH');
  redis = started;
  // The web role alone: it stores alerts and outbox rows, and nothing relays or works them yet.
  web = await startTestVigil({ env: { REDIS_URL: redis.url }, roles: { web: true, worker: false } });
});
afterAll(async () => {
  await web?.close();
  await redis?.stop();
});

async function ingest(title: string): Promise<string> {
  const response = await web.ingest('generic', { title, source: 'flush' });
  expect(response.status).toBe(202);
  return ((await response.json()) as { alerts: { id: string }[] }).alerts[0]?.id as string;
}

const cardOf = async (alertId: string) =>
  (await web.handle.db.selectFrom('cards').selectAll().where('alert_id', '=', alertId).execute())[0];

async function flushAll(): Promise<void> {
  const client = new Redis(redis.url);
  try {
    await client.flushall();
  } finally {
    client.disconnect();
  }
}

describe('the outbox survives Redis losing everything after a 202', () => {
  it('re-drives a job that was queued in Redis and then flushed away, rows that shared it included', async () => {
    const alertIds = [
      await ingest('Queued, then flushed'),
      await ingest('Queued beside it'),
      await ingest('Queued last'),
    ];

    // Hand the outbox rows to BullMQ, as a relay would, and check the job is really in Redis.
    const producer = redisConnection(redis.url, 'producer', createLogger('silent'));
    const queues = createQueues(producer, web.prefix, createLogger('silent'));
    const relay = new OutboxRelay({
      handle: web.handle,
      databaseUrl: TEST_DATABASE_URL,
      queues,
      logger: createLogger('silent'),
    });
    await relay.relayNow();
    // New alerts' cards share one job, which waits among the prioritized ones (new cards before refreshes).
    expect((await queues.notify.getJobCounts('prioritized')).prioritized).toBe(1);
    const [job] = await queues.notify.getJobs(['prioritized']);
    expect(job?.opts.priority).toBe(NEW_CARD_PRIORITY);
    expect(job?.data.rows).toHaveLength(3);
    // Each row names the job it shares, for the re-drive to look for.
    const rows = await web.handle.db
      .selectFrom('outbox')
      .select('job_id')
      .where('topic', '=', 'notify')
      .execute();
    expect(rows.map((row) => row.job_id)).toEqual([job?.id, job?.id, job?.id]);
    await relay.stop();
    await closeQueues(queues);
    producer.disconnect();

    await flushAll();

    // A worker process starts; its relay finds the rows handed over but their job gone, and queues them again.
    const worker = await startTestVigil({
      joining: web,
      env: { REDIS_URL: redis.url },
      roles: { web: false, worker: true },
      relayTimings: { redriveAfterMs: 0, redriveEveryMs: 100 },
    });
    try {
      for (const alertId of alertIds) {
        const card = await eventually(
          async () => ((await cardOf(alertId))?.message_ref == null ? undefined : cardOf(alertId)),
          20_000,
          'the card after FLUSHALL',
        );
        expect(card?.platform).toBe('log');
      }
      // The job marks its outbox rows done just after the cards are recorded.
      await eventually(
        async () => {
          const left = await web.handle.db
            .selectFrom('outbox')
            .select('id')
            .where('topic', '=', 'notify')
            .where('completed_at', 'is', null)
            .execute();
          return left.length === 0;
        },
        20_000,
        'the outbox rows marked done',
      );
    } finally {
      await worker.close();
    }
  });

  it('relays a row that Redis never saw once a worker is back', async () => {
    const alertId = await ingest('Flushed before any relay');
    await flushAll();
    const worker = await startTestVigil({
      joining: web,
      env: { REDIS_URL: redis.url },
      roles: { web: false, worker: true },
    });
    try {
      const card = await eventually(
        async () => ((await cardOf(alertId))?.message_ref == null ? undefined : cardOf(alertId)),
        20_000,
        'the card',
      );
      expect(card?.state).toBe('active');
    } finally {
      await worker.close();
    }
  });
});
