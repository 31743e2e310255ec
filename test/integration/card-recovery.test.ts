import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeMessage, FakeSlackApi } from '../fakes/slack-api.js';
import {
  deleteRedisKeys,
  dropSchema,
  eventually,
  startTestVigil,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  type TestVigil,
} from '../helpers/harness.js';
import { SLACK_TEST_SECRET, slackTestEnv } from '../helpers/slack-signing.js';

const CHANNEL = 'C0CRASH';
const ADMIN = 'U0ADMIN';

let fake: FakeSlackApi;
const children: ChildProcess[] = [];

beforeAll(async () => {
  fake = await new FakeSlackApi().start();
});
afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await fake?.stop();
});

const alertOf = (message: FakeMessage): unknown =>
  (message.metadata?.event_payload as { alertId?: unknown } | undefined)?.alertId;

async function ingestOne(vigil: TestVigil, body: Record<string, unknown>): Promise<string> {
  const response = await vigil.ingest('generic', body);
  expect(response.status).toBe(202);
  return ((await response.json()) as { alerts: { id: string }[] }).alerts[0]?.id as string;
}

/** A real `vigil worker` process on the test's schema and queue prefix. */
function spawnWorker(vigil: TestVigil, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'worker'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      DATABASE_URL: TEST_DATABASE_URL,
      REDIS_URL: TEST_REDIS_URL,
      VIGIL_DB_SCHEMA: vigil.schema,
      VIGIL_QUEUE_PREFIX: vigil.prefix,
      LOG_LEVEL: 'silent',
      ...env,
    },
    stdio: 'ignore',
  });
  children.push(child);
  return child;
}

describe('exactly one card across a crash', () => {
  it('a worker killed between Slack posting the card and recording it: the next worker finds it, one card', async () => {
    const env = { ...slackTestEnv(fake.url, CHANNEL, ADMIN), VIGIL_CARD_LEASE_MS: '1000' };
    const web = await startTestVigil({ env, roles: { web: true, worker: false } });
    let replacement: TestVigil | null = null;
    try {
      const doomed = spawnWorker(web, { ...env, SLACK_SIGNING_SECRET: SLACK_TEST_SECRET });
      const died = new Promise<NodeJS.Signals | null>((resolve) =>
        doomed.once('exit', (_code, signal) => resolve(signal)),
      );
      // Slack has posted the card; the worker dies before it hears the ts (let alone records it).
      fake.afterPost = () => {
        doomed.kill('SIGKILL');
        return 'drop';
      };
      const alertId = await ingestOne(web, { title: 'Posted, then the worker died', source: 'crash' });
      expect(await died).toBe('SIGKILL');
      fake.afterPost = null;
      expect(fake.cardsIn(CHANNEL).map(alertOf)).toEqual([alertId]);

      // Another worker takes the job over once BullMQ sees it stalled, and the card's lease has run out.
      replacement = await startTestVigil({ joining: web, env, roles: { web: false, worker: true } });
      const card = await eventually(
        async () => {
          const row = await web.handle.db
            .selectFrom('cards')
            .selectAll()
            .where('alert_id', '=', alertId)
            .executeTakeFirst();
          return row?.message_ref == null ? undefined : row;
        },
        100_000,
        'the card recorded by the second worker',
      );
      const cards = fake.cardsIn(CHANNEL);
      expect(cards).toHaveLength(1);
      expect(card.message_ref).toBe(cards[0]?.ts);
      expect(fake.callsOf('conversations.history').length).toBeGreaterThan(0);
    } finally {
      fake.afterPost = null;
      await replacement?.close();
      await web.close();
    }
  }, 150_000);
});

describe('a platform turned on later', () => {
  it('posts the open alerts stored before Slack was configured, and not the resolved ones', async () => {
    // First without any chat platform: cards are only recorded in the log.
    const bare = await startTestVigil();
    let withSlack: TestVigil | null = null;
    try {
      const open = await ingestOne(bare, {
        title: 'Stored before Slack',
        fingerprint: 'later-1',
        source: 'later',
      });
      await ingestOne(bare, { title: 'Resolved before Slack', fingerprint: 'later-2', source: 'later' });
      await ingestOne(bare, {
        title: 'Resolved before Slack',
        fingerprint: 'later-2',
        source: 'later',
        status: 'resolved',
      });
      // Every card refresh done (the resolved alert's too): a notify row still pending at the switch
      // would be delivered to Slack, resolved card and all, which is not what this test is about.
      await eventually(
        async () =>
          (await bare.handle.db
            .selectFrom('outbox')
            .select('id')
            .where('completed_at', 'is', null)
            .where('failed_at', 'is', null)
            .executeTakeFirst()) === undefined &&
          (await bare.handle.db.selectFrom('cards').select('id').where('alert_id', '=', open).execute())
            .length > 0,
        20_000,
        'the log cards, and no refresh pending',
      );
      await bare.stop();

      withSlack = await startTestVigil({ joining: bare, env: slackTestEnv(fake.url, 'C0LATER', ADMIN) });
      await eventually(
        async () => fake.cardsIn('C0LATER').map(alertOf).includes(open),
        30_000,
        'the Slack card of the alert stored before',
      );
      expect(fake.cardsIn('C0LATER')).toHaveLength(1);
    } finally {
      await withSlack?.close();
      await dropSchema(bare.schema);
      await deleteRedisKeys(bare.prefix);
    }
  }, 90_000);
});

describe('the delivery window', () => {
  it('marks a card delivery failed once Slack has refused for longer than the window; the next change posts it', async () => {
    const vigil = await startTestVigil({
      env: slackTestEnv(fake.url, 'C0WINDOW', ADMIN),
      deliveryTimings: { windowMs: 1_500, baseMs: 50, capMs: 100 },
    });
    try {
      fake.outage = 'status_500';
      const body = { title: 'Outlasted the window', fingerprint: 'window-1', source: 'window' };
      const alertId = await ingestOne(vigil, body);
      const rows = () =>
        vigil.handle.db
          .selectFrom('outbox')
          .selectAll()
          .where('topic', '=', 'notify')
          .where('payload', '@>', JSON.stringify({ alertId }) as never)
          .orderBy('id')
          .execute();
      const [failed] = await eventually(
        async () => {
          const found = await rows();
          return found[0]?.failed_at == null ? undefined : found;
        },
        30_000,
        'the notify row given up on',
      );
      expect(failed?.last_error).toContain('delivery window');
      fake.outage = null;
      // A later occurrence asks again, in a row of its own: the card arrives.
      await ingestOne(vigil, body);
      await eventually(
        async () => fake.cardsIn('C0WINDOW').map(alertOf).includes(alertId),
        30_000,
        'the card after the outage',
      );
      expect(fake.cardsIn('C0WINDOW')).toHaveLength(1);
    } finally {
      fake.outage = null;
      await vigil.close();
    }
  }, 60_000);
});
