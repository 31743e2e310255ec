import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NotifyJobData, queueName } from '../../src/jobs/queues.js';
import { openDb } from '../../src/storage/db.js';
import { type FakeMessage, FakeSlackApi } from '../fakes/slack-api.js';
import {
  cardRow,
  eventually,
  startTestVigil,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  type TestVigil,
} from '../helpers/harness.js';
import { slackTestEnv } from '../helpers/slack-signing.js';

// Cards reach Slack through the real path (HTTP ingest, outbox, relay, BullMQ, notify worker) under
// the conditions of a storm: a slow Slack, many channels, lost answers, a long outage, rate limits.
// No fallback channel: every card goes where a route sends it, and an alert no route matches has no target.

let fake: FakeSlackApi;
let vigil: TestVigil;
let redis: Redis;

beforeAll(async () => {
  fake = await new FakeSlackApi().start();
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  vigil = await startTestVigil({
    env: { ...slackTestEnv(fake.url, '', 'U0ADMIN'), VIGIL_CARD_LEASE_MS: '1000' },
    // Retries come quickly here, so a test can outlast many more attempts than the old limit of ten.
    deliveryTimings: { baseMs: 50, capMs: 200 },
  });
});
afterAll(async () => {
  await vigil?.close();
  await fake?.stop();
  redis?.disconnect();
});

async function route(channel: string, source: string): Promise<void> {
  expect((await vigil.api('POST', '/api/routes', { channel, sources: [source] })).status).toBe(201);
}

async function ingest(alerts: Record<string, unknown>[]): Promise<string[]> {
  const response = await vigil.ingest('generic', { alerts });
  expect(response.status).toBe(202);
  return ((await response.json()) as { alerts: { id: string }[] }).alerts.map((alert) => alert.id);
}

/** The alert a posted Slack message is the card of, from the message metadata Vigil attaches. */
const alertOf = (message: FakeMessage): unknown =>
  (message.metadata?.event_payload as { alertId?: unknown } | undefined)?.alertId;

const notifyRows = (alertId: string) =>
  vigil.handle.db
    .selectFrom('outbox')
    .selectAll()
    .where('topic', '=', 'notify')
    .where('payload', '@>', JSON.stringify({ alertId }) as never)
    .execute();

describe('card delivery under a storm', () => {
  it('posts every card of a storm over 20 channels with a slow Slack: no card lock held across the call', async () => {
    // Before: each notify job held a transaction on its card while calling Slack and the adapter took
    // a second pooled connection inside it; 16 jobs against a pool of 10 then waited on each other for ever.
    fake.latencyMs = 100;
    const channels = Array.from({ length: 20 }, (_, i) => `C0STORM${String(i).padStart(2, '0')}`);
    for (const [i, channel] of channels.entries()) await route(channel, `storm-${i}`);
    const alerts = Array.from({ length: 60 }, (_, i) => ({
      title: `Storm alert ${i}`,
      fingerprint: `storm-fp-${i}`,
      source: `storm-${i % 20}`,
      severity: 'high',
    }));
    const ids = (await Promise.all([ingest(alerts.slice(0, 30)), ingest(alerts.slice(30))])).flat();
    await eventually(
      async () => channels.every((channel) => fake.cardsIn(channel).length === 3),
      90_000,
      'three cards in each of the 20 channels',
    );
    const posted = channels.flatMap((channel) => fake.cardsIn(channel)).map(alertOf);
    expect(posted.sort()).toEqual([...ids].sort());
    await eventually(
      async () => (await Promise.all(ids.map(notifyRows))).flat().every((row) => row.completed_at !== null),
      30_000,
      'every notify row done',
    );
    fake.latencyMs = 0;
  }, 120_000);

  it('finds a card whose post answer was lost instead of posting it again', async () => {
    const channel = 'C0LOST';
    await route(channel, 'lost');
    let dropped = 0;
    fake.afterPost = (message) => {
      if (message.channel !== channel || dropped > 0) return 'answer';
      dropped += 1;
      return 'drop';
    };
    const [id] = (await ingest([{ title: 'Answer lost', source: 'lost' }])) as [string];
    const row = await eventually(
      async () => {
        const card = await cardRow(vigil, id, channel);
        return card?.message_ref == null ? undefined : card;
      },
      30_000,
      'the card recorded',
    );
    fake.afterPost = null;
    expect(dropped).toBe(1);
    const cards = fake.cardsIn(channel);
    expect(cards).toHaveLength(1);
    expect(row.message_ref).toBe(cards[0]?.ts);
    expect(row.state).toBe('active');
    expect(alertOf(cards[0] as FakeMessage)).toBe(id);
    const lookups = fake.callsOf('conversations.history').filter((call) => call.args.channel === channel);
    expect(lookups.length).toBeGreaterThan(0);
    expect(String(lookups[0]?.args.include_all_metadata)).toBe('true');
  });

  it('ten occurrences of one alert are one pending card refresh, and the card ends showing them all', async () => {
    const channel = 'C0COALESCE';
    await route(channel, 'coalesce');
    fake.latencyMs = 100;
    const [id] = (await ingest([{ title: 'Coalesced', fingerprint: 'coalesce-1', source: 'coalesce' }])) as [
      string,
    ];
    for (let i = 0; i < 30; i += 1) {
      await ingest([{ title: 'Coalesced', fingerprint: 'coalesce-1', source: 'coalesce' }]);
    }
    await eventually(
      async () => {
        const cards = fake.cardsIn(channel);
        return cards.length === 1 && JSON.stringify(cards[0]?.blocks).includes('*Occurrences*\\n31');
      },
      60_000,
      'the card showing 31 occurrences',
    );
    fake.latencyMs = 0;
    // 31 changes: a few outbox rows and chat calls (about one per chat.update slot), not 31 of each.
    const rows = await notifyRows(id);
    expect(rows.length).toBeLessThan(16);
    expect(rows.reduce((sum, row) => sum + row.requested, 0)).toBe(31);
    const calls = fake.calls.filter(
      (call) => ['chat.postMessage', 'chat.update'].includes(call.method) && call.args.channel === channel,
    );
    expect(calls.length).toBeLessThan(16);
  }, 90_000);

  it('an alert with no target costs a check and no card', async () => {
    const before = fake.calls.length;
    const [id] = (await ingest([{ title: 'Nobody routes me', source: 'nowhere' }])) as [string];
    await eventually(
      async () => (await notifyRows(id)).every((row) => row.completed_at !== null),
      20_000,
      'the notify row done',
    );
    const cards = await vigil.handle.db.selectFrom('cards').selectAll().where('alert_id', '=', id).execute();
    expect(cards).toEqual([]);
    expect(fake.calls.slice(before).filter((call) => call.method.startsWith('chat.'))).toEqual([]);
  });

  it('a 429 in one channel does not hold back the cards of other channels', async () => {
    await route('C0LIMITED', 'split');
    await route('C0FREE', 'split');
    await route('C0FREE', 'free');
    fake.failNext('chat.postMessage', {
      status: 429,
      retryAfter: 30,
      when: (args) => args.channel === 'C0LIMITED',
    });
    const [split] = (await ingest([{ title: 'Split', source: 'split' }])) as [string];
    const [free] = (await ingest([{ title: 'Free', source: 'free' }])) as [string];
    await eventually(
      async () =>
        fake
          .cardsIn('C0FREE')
          .map(alertOf)
          .filter((alertId) => alertId === split || alertId === free).length === 2,
      30_000,
      'both cards in the free channel',
    );
    // The limited channel's card waits out its Retry-After of 30 s; it was refused once, not posted.
    expect(fake.cardsIn('C0LIMITED')).toEqual([]);
    expect((await cardRow(vigil, split, 'C0LIMITED'))?.message_ref ?? null).toBeNull();
  });

  it('an alert failing again and again does not hold back the other alerts of its job', async () => {
    // A backoff of a minute: waiting for it would time this test out.
    const slow = await startTestVigil({
      env: slackTestEnv(fake.url, '', 'U0ADMIN'),
      deliveryTimings: { baseMs: 60_000, capMs: 60_000 },
    });
    try {
      for (const [channel, source] of [
        ['C0BROKEN', 'broken'],
        ['C0WAITS', 'waits'],
      ]) {
        expect((await slow.api('POST', '/api/routes', { channel, sources: [source] })).status).toBe(201);
      }
      fake.failNext('chat.postMessage', {
        error: 'internal_error',
        when: (args) => args.channel === 'C0BROKEN',
      });
      fake.failNext('chat.postMessage', {
        status: 429,
        retryAfter: 1,
        when: (args) => args.channel === 'C0WAITS',
      });
      // One request, one batch, one relay pass: both rows in one job.
      const response = await slow.ingest('generic', {
        alerts: [
          { title: 'Broken', source: 'broken' },
          { title: 'Waits', source: 'waits' },
        ],
      });
      expect(response.status).toBe(202);
      const [broken, waits] = ((await response.json()) as { alerts: { id: string }[] }).alerts.map(
        (alert) => alert.id,
      );
      await eventually(
        async () => fake.cardsIn('C0WAITS').map(alertOf).includes(waits),
        10_000,
        'the card that only had to wait out its Retry-After',
      );
      const rows = await slow.handle.db
        .selectFrom('outbox')
        .select(['job_id', 'payload', 'completed_at'])
        .where('topic', '=', 'notify')
        .execute();
      const jobOf = (alertId: string | undefined) => rows.find((row) => row.payload.alertId === alertId);
      expect(jobOf(broken)?.job_id).toBeTruthy();
      expect(jobOf(broken)?.job_id).toBe(jobOf(waits)?.job_id);
      // The failed one waits out its own backoff, alone.
      expect(fake.cardsIn('C0BROKEN')).toEqual([]);
      expect(jobOf(broken)?.completed_at).toBeNull();
    } finally {
      await slow.close();
    }
  });

  it('keeps retrying through an outage longer than ten attempts; every card arrives once', async () => {
    // One channel per card: each attempt takes its channel's post slot (one a second).
    const channels = ['C0OUTAGE0', 'C0OUTAGE1', 'C0OUTAGE2'];
    for (const [i, channel] of channels.entries()) await route(channel, `outage-${i}`);
    const queue = new Queue<NotifyJobData>(queueName('notify'), { connection: redis, prefix: vigil.prefix });
    // Rows relayed together share a job (recorded on them), which counts each row's failures.
    const attemptsOf = async (alertId: string) => {
      const [row] = await notifyRows(alertId);
      const job = row === undefined ? undefined : await queue.getJob(row.job_id ?? `outbox-${row.id}`);
      return job?.data.rows.find((carried) => carried.outboxId === row?.id)?.failures ?? 0;
    };
    try {
      fake.outage = 'reset';
      const ids = await ingest(
        Array.from({ length: 3 }, (_, i) => ({
          title: `Outage ${i}`,
          fingerprint: `outage-${i}`,
          source: `outage-${i}`,
        })),
      );
      const allAttempted = (n: number) => async () => {
        const made = await Promise.all(ids.map(attemptsOf));
        return made.every((count) => count >= n);
      };
      await eventually(allAttempted(6), 30_000, 'six refused attempts (connections reset)');
      fake.outage = 'status_500';
      // Ten attempts was where a notify job used to give up for good.
      await eventually(allAttempted(12), 30_000, 'twelve refused attempts (HTTP 500)');
      expect((await Promise.all(ids.map(notifyRows))).flat().every((row) => row.failed_at === null)).toBe(
        true,
      );
      fake.outage = null;
      await eventually(
        async () => channels.every((channel, i) => fake.cardsIn(channel).map(alertOf).includes(ids[i])),
        30_000,
        'every card after the outage',
      );
      expect(channels.map((channel) => fake.cardsIn(channel).length)).toEqual([1, 1, 1]);
      await eventually(
        async () => (await Promise.all(ids.map(notifyRows))).flat().every((row) => row.completed_at !== null),
        20_000,
        'the notify rows done',
      );
    } finally {
      fake.outage = null;
      await queue.close();
    }
  }, 120_000);
});

describe('the Postgres pool', () => {
  it('fails a query that waits too long for a connection instead of hanging', async () => {
    const handle = openDb({
      url: TEST_DATABASE_URL,
      schema: vigil.schema,
      poolSize: 1,
      acquireTimeoutMs: 200,
    });
    try {
      let release: () => void = () => {};
      const held = handle.db.transaction().execute(
        () =>
          new Promise<void>((resolve) => {
            release = resolve;
          }),
      );
      await eventually(
        async () => handle.pool.totalCount === 1 && handle.pool.idleCount === 0,
        5_000,
        'the held client',
      );
      await expect(handle.db.selectFrom('alerts').select('id').execute()).rejects.toThrow(/timeout/);
      release();
      await held;
    } finally {
      await handle.close();
    }
  });
});
