import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logChannel } from '../../src/bot/log-channel.js';
import { notify } from '../../src/domain/index.js';
import { type LocalDelivery, localDelivery } from '../../src/jobs/local-delivery.js';
import { OutboxRelay } from '../../src/jobs/outbox-relay.js';
import { closeQueues, createQueues, type Queues } from '../../src/jobs/queues.js';
import { redisConnection } from '../../src/jobs/redis.js';
import { createLogger } from '../../src/logger.js';
import { appendOutbox } from '../../src/storage/outbox.repository.js';
import {
  eventually,
  startTestVigil,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  type TestVigil,
} from '../helpers/harness.js';

// No chat platform is configured: every card is the log channel's, which nothing outside the process sees.
let vigil: TestVigil;
let producer: ReturnType<typeof redisConnection>;
let queues: Queues;

beforeAll(async () => {
  vigil = await startTestVigil();
  producer = redisConnection(TEST_REDIS_URL, 'producer', createLogger('silent'));
  queues = createQueues(producer, vigil.prefix, createLogger('silent'));
});
afterAll(async () => {
  await closeQueues(queues);
  producer?.disconnect();
  await vigil?.close();
});

async function ingest(body: Record<string, unknown>): Promise<string> {
  const response = await vigil.ingest('generic', { source: 'local', ...body });
  expect(response.status).toBe(202);
  return ((await response.json()) as { alerts: { id: string }[] }).alerts[0]?.id as string;
}

const cardOf = async (alertId: string) =>
  vigil.handle.db.selectFrom('cards').selectAll().where('alert_id', '=', alertId).executeTakeFirst();

const notifyRowsOf = (alertId: string) =>
  vigil.handle.db
    .selectFrom('outbox')
    .select(['completed_at', 'failed_at', 'job_id', 'last_error'])
    .where('topic', '=', 'notify')
    .where(({ ref }) => ref('payload', '->>').key('alertId'), '=', alertId)
    .execute();

const notifyJobs = async () =>
  Object.values(
    await queues.notify.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'),
  ).reduce((sum, n) => sum + n, 0);

describe('an install whose every chat channel is local', () => {
  it('shows new and changed alerts on the log channel in the relay, with no notify job', async () => {
    const alertId = await ingest({ title: 'Shown by the relay', id: 'local-1', severity: 'low' });
    const posted = await eventually(async () => {
      const card = await cardOf(alertId);
      expect(card).toMatchObject({ platform: 'log', target: 'log', state: 'active', rendered_revision: 1 });
      return card;
    });
    // Occurring again raises the revision: the same card is brought up to date, not posted twice.
    await ingest({ title: 'Shown by the relay', id: 'local-1', severity: 'high' });
    await eventually(async () => {
      const card = await cardOf(alertId);
      expect(card?.rendered_revision).toBe(2);
      expect(card?.message_ref).toBe(posted?.message_ref);
      return true;
    });
    await eventually(async () => {
      const rows = await notifyRowsOf(alertId);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) expect(row).toMatchObject({ failed_at: null, job_id: null });
      return rows.every((row) => row.completed_at !== null);
    });
    expect(await notifyJobs()).toBe(0);
  });

  it('hands a batch it cannot deliver to the notify queue, where a bad row is given up alone', async () => {
    // A row no alert could have written: its payload names no alert. It shares a batch with a good one.
    const { rows } = await sql<{ id: string }>`INSERT INTO outbox (topic, payload)
      VALUES ('notify', '{"alertId": "not-an-id", "reason": "created"}') RETURNING id`.execute(
      vigil.handle.db,
    );
    const bad = { id: String(rows[0]?.id) };
    const alertId = await ingest({ title: 'Beside a bad row', id: 'local-2' });
    await eventually(async () => {
      const row = await vigil.handle.db
        .selectFrom('outbox')
        .select(['failed_at', 'last_error'])
        .where('id', '=', bad.id)
        .executeTakeFirstOrThrow();
      expect(row.failed_at).not.toBeNull();
      expect(row.last_error).toMatch(/bad notify payload: alertId/);
      return true;
    });
    await eventually(async () => (await cardOf(alertId))?.platform === 'log');
    expect(await notifyJobs()).toBeGreaterThan(0);
    // The next alert is shown by the relay again.
    const before = await notifyJobs();
    const next = await ingest({ title: 'After the bad row', id: 'local-3' });
    await eventually(async () => (await cardOf(next))?.rendered_revision === 1);
    expect(await notifyJobs()).toBe(before);
  });
});

/** A promise and the function that resolves it: one side of a test waits for the other. */
function signal(): [Promise<void>, () => void] {
  let give = () => {};
  const given = new Promise<void>((resolve) => {
    give = resolve;
  });
  return [given, give];
}

describe('local delivery beside a change that has not committed', () => {
  // The web role alone: the test runs the deliveries itself.
  let quiet: TestVigil;
  let deliver: LocalDelivery;
  beforeAll(async () => {
    quiet = await startTestVigil({ roles: { web: true, worker: false } });
    const local = localDelivery({
      handle: quiet.handle,
      channels: [logChannel(createLogger('silent'))],
      logger: createLogger('silent'),
      cardLeaseMs: 30_000,
    });
    if (local === null) throw new Error('the log channel is local');
    deliver = local;
  });
  const ingestOne = async (body: Record<string, unknown>): Promise<string> => {
    const response = await quiet.ingest('generic', { source: 'local', ...body });
    expect(response.status).toBe(202);
    return ((await response.json()) as { alerts: { id: string }[] }).alerts[0]?.id as string;
  };
  afterAll(async () => {
    await quiet?.close();
  });

  it('hands other topics to their queues before it works through a card backlog', async () => {
    // A backlog of 300 card refreshes (of alerts since deleted: each is still a row to work), then an escalation step.
    await sql`INSERT INTO outbox (topic, payload)
      SELECT 'notify', jsonb_build_object('alertId', gen_random_uuid(), 'reason', 'created') FROM generate_series(1, 300)`.execute(
      quiet.handle.db,
    );
    const { rows } = await sql<{ id: string }>`INSERT INTO outbox (topic, payload)
      VALUES ('escalate', ${JSON.stringify({ pageId: 'p-1', stepNo: 1, dueAt: new Date().toISOString() })}::jsonb)
      RETURNING id`.execute(quiet.handle.db);
    const producer = redisConnection(TEST_REDIS_URL, 'producer', createLogger('silent'));
    const queues = createQueues(producer, quiet.prefix, createLogger('silent'));
    const relay = new OutboxRelay({
      handle: quiet.handle,
      databaseUrl: TEST_DATABASE_URL,
      queues,
      logger: createLogger('silent'),
      deliverLocally: deliver,
      // One batch of cards a turn: the order of the turns decides, not the machine's speed.
      localTurnMs: 0,
    });
    try {
      await relay.relayNow();
      const escalation = await quiet.handle.db
        .selectFrom('outbox')
        .select('enqueued_at')
        .where('id', '=', String(rows[0]?.id))
        .executeTakeFirstOrThrow();
      const cards = await quiet.handle.db
        .selectFrom('outbox')
        .select((eb) => eb.fn.countAll<string>().as('rows'))
        .where('topic', '=', 'notify')
        .where('completed_at', '>=', escalation.enqueued_at as Date)
        .executeTakeFirstOrThrow();
      // Every one of the 300 was worked after the escalation step was handed over.
      expect(Number(cards.rows)).toBeGreaterThanOrEqual(300);
      expect(await queues.escalate.getJob(`outbox-${rows[0]?.id}`)).toBeDefined();
    } finally {
      await relay.stop();
      await closeQueues(queues);
      producer.disconnect();
    }
  });

  it('delivers the rows it may while a change holds the alert of older ones', async () => {
    const heldId = await ingestOne({ title: 'Held', id: 'held-1' });
    await deliver(100);
    // A hundred older rows of one alert, which a change holds while a newer alert waits for its card.
    await sql`INSERT INTO outbox (topic, payload)
      SELECT 'notify', jsonb_build_object('alertId', ${heldId}::text, 'reason', 'status_changed')
      FROM generate_series(1, 100)`.execute(quiet.handle.db);
    const freeId = await ingestOne({ title: 'Free', id: 'free-1' });
    const [releasing, release] = signal();
    const [holding, held] = signal();
    const change = quiet.handle.db.transaction().execute(async (trx) => {
      await trx.selectFrom('alerts').select('id').where('id', '=', heldId).forUpdate().execute();
      held();
      await releasing;
    });
    await holding;
    expect(await deliver(100)).toBe(1);
    expect(
      await quiet.handle.db
        .selectFrom('cards')
        .select('rendered_revision')
        .where('alert_id', '=', freeId)
        .executeTakeFirst(),
    ).toEqual({ rendered_revision: 1 });
    release();
    await change;
    expect(await deliver(100)).toBe(100);
  });

  it('skips an alert a status change holds, so the change folds into its row and never deadlocks', async () => {
    const alertId = await ingestOne({ title: 'Clicked meanwhile', id: 'click-1' });

    // A status change as changeAlert makes it: the alert FOR UPDATE first, then its writes and its card request.
    const [proceeding, proceed] = signal();
    const [holding, locked] = signal();
    const change = quiet.handle.db.transaction().execute(async (trx) => {
      await trx.selectFrom('alerts').select('id').where('id', '=', alertId).forUpdate().execute();
      locked();
      await proceeding;
      await trx
        .updateTable('alerts')
        .set((eb) => ({ revision: eb('revision', '+', 1), status: 'in_progress' }))
        .where('id', '=', alertId)
        .execute();
      await appendOutbox(trx, [notify(alertId, 'status_changed')]);
    });
    await holding;
    // Delivery takes neither the alert nor its row (a claim of the row would wait on the alert's
    // lock while holding the row the change folds into next: a deadlock).
    expect(await deliver(100)).toBe(0);
    proceed();
    await change;
    expect(await deliver(100)).toBe(1);
    const card = await quiet.handle.db
      .selectFrom('cards')
      .select('rendered_revision')
      .where('alert_id', '=', alertId)
      .executeTakeFirstOrThrow();
    expect(card.rendered_revision).toBe(2);
  });

  it('skips a row a transaction is folding into, and shows what that transaction committed once it has', async () => {
    const card = async (alertId: string) =>
      quiet.handle.db.selectFrom('cards').selectAll().where('alert_id', '=', alertId).executeTakeFirst();
    const alertId = await ingestOne({ title: 'Folded into', id: 'fold-1' });
    expect(await deliver(100)).toBe(1);
    expect((await card(alertId))?.rendered_revision).toBe(1);
    // It occurs again: a pending row asks for revision 2.
    await ingestOne({ title: 'Folded into', id: 'fold-1' });

    // A change to the alert folds its request into that pending row, and has not committed.
    const [committing, commit] = signal();
    const [holding, folded] = signal();
    const change = quiet.handle.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('alerts')
        .set((eb) => ({ revision: eb('revision', '+', 1), title: 'Changed meanwhile' }))
        .where('id', '=', alertId)
        .execute();
      await appendOutbox(trx, [notify(alertId, 'status_changed')]);
      folded();
      await committing;
    });
    await holding;
    // The row is locked: skipped, not waited for, and not shown at the revision before the change.
    expect(await deliver(100)).toBe(0);
    expect((await card(alertId))?.rendered_revision).toBe(1);
    commit();
    await change;
    expect(await deliver(100)).toBe(1);
    expect(await card(alertId)).toMatchObject({ rendered_revision: 3 });
    const rows = await quiet.handle.db
      .selectFrom('outbox')
      .select(['requested', 'completed_at'])
      .where('topic', '=', 'notify')
      .where(({ ref }) => ref('payload', '->>').key('alertId'), '=', alertId)
      .orderBy('id')
      .execute();
    expect(rows.map((row) => [row.requested, row.completed_at !== null])).toEqual([
      [1, true],
      [2, true],
    ]);
  });
});
