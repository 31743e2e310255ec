import pg from 'pg';
import type { OutboxTopic } from '../domain/index.js';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import {
  markFailed,
  msUntilNextDue,
  outboxChannel,
  type RelayedRow,
  relayPending,
  requeue,
  unfinishedSince,
} from '../storage/outbox.repository.js';
import type { LocalDelivery } from './local-delivery.js';
import {
  CARD_REFRESH_PRIORITY,
  jobIdFor,
  NEW_CARD_PRIORITY,
  NOTIFY_BATCH,
  type Queues,
  sharedJobIdPrefix,
  TOPICS,
} from './queues.js';

export interface OutboxRelayOptions {
  readonly handle: DbHandle;
  readonly databaseUrl: string;
  /** How the LISTEN connection shows in `pg_stat_activity`. @defaultValue vigil */
  readonly applicationName?: string;
  readonly queues: Queues;
  readonly logger: Logger;
  /** How often to look for rows without being woken. @defaultValue 1000 */
  readonly pollMs?: number;
  /** How long a handed-over row may stay unfinished before its job is looked for. @defaultValue 15000 */
  readonly redriveAfterMs?: number;
  /** How often to run that check. @defaultValue 5000 */
  readonly redriveEveryMs?: number;
  /** Rows per hand-over. @defaultValue 500 */
  readonly batchSize?: number;
  /**
   * The least time between the starts of two passes a commit wakes: under a stream of commits each
   * pass then moves more rows, in fewer and fuller shared jobs. @defaultValue 25
   */
  readonly minPassGapMs?: number;
  /**
   * Delivers card refreshes itself, in its own transactions, instead of handing them to the notify
   * queue (an install whose every chat channel is local: see `localDelivery`).
   */
  readonly deliverLocally?: LocalDelivery;
  /** How long local delivery goes on before the queues' rows get their turn. @defaultValue 100 */
  readonly localTurnMs?: number;
}

/**
 * Moves outbox rows into BullMQ. Postgres is the source of truth: a row is handed over once
 * (marked enqueued in one statement, then added to Redis outside any transaction), woken by
 * NOTIFY on commit and by a poll. Rows whose
 * job vanished (Redis flushed or restarted without persistence) go back to the relay; the job ID
 * derived from the row keeps a row that is still queued from being added twice.
 */
export class OutboxRelay {
  readonly #options: Required<
    Omit<
      OutboxRelayOptions,
      'handle' | 'databaseUrl' | 'applicationName' | 'queues' | 'logger' | 'deliverLocally'
    >
  > &
    OutboxRelayOptions;
  #listener: pg.Client | null = null;
  #timers: NodeJS.Timeout[] = [];
  /** Wakes the relay when the next delayed row falls due, which no NOTIFY announces. */
  #dueTimer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #lastPassAt = 0;
  /** A pass a wake-up asked for, put off until `minPassGapMs` after the last one began. */
  #paced: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(options: OutboxRelayOptions) {
    this.#options = {
      pollMs: 1_000,
      redriveAfterMs: 15_000,
      redriveEveryMs: 5_000,
      batchSize: 500,
      minPassGapMs: 25,
      localTurnMs: 100,
      ...options,
    };
  }

  async start(): Promise<void> {
    await this.#listen();
    this.#timers.push(setInterval(() => this.kick(), this.#options.pollMs));
    this.#timers.push(
      setInterval(() => {
        this.redrive().catch((error) => this.#options.logger.warn({ err: error }, 'outbox re-drive failed'));
      }, this.#options.redriveEveryMs),
    );
    this.kick();
  }

  /** Relays everything pending soon: now, or `minPassGapMs` after the last pass began. */
  kick(): void {
    if (this.#stopped || this.#paced !== null) return;
    const wait = this.#lastPassAt + this.#options.minPassGapMs - Date.now();
    if (wait <= 0) {
      void this.relayNow();
      return;
    }
    this.#paced = setTimeout(() => {
      this.#paced = null;
      void this.relayNow();
    }, wait);
  }

  /** Relays everything pending now (during a pass: once more after it); resolves when that is done. */
  relayNow(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running !== null) {
      this.#again = true;
      return this.#running;
    }
    this.#lastPassAt = Date.now();
    this.#running = this.#drain()
      .catch((error) => this.#options.logger.warn({ err: error }, 'outbox relay pass failed; will retry'))
      .finally(() => {
        this.#running = null;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
    return this.#running;
  }

  /** Finds rows whose job is gone from Redis and sends them back through the relay. */
  async redrive(): Promise<number> {
    const { handle, queues, logger, redriveAfterMs } = this.#options;
    const rows = await unfinishedSince(handle.db, redriveAfterMs, 1_000);
    const lost: string[] = [];
    // Rows sharing a job ask Redis once.
    const jobs = new Map<string, Awaited<ReturnType<Queues[OutboxTopic]['getJob']>>>();
    for (const row of rows) {
      const queue = queues[row.topic as OutboxTopic];
      if (queue === undefined) continue;
      const jobId = row.jobId ?? jobIdFor(row.id);
      if (!jobs.has(jobId)) jobs.set(jobId, await queue.getJob(jobId));
      const job = jobs.get(jobId);
      if (job === undefined) {
        lost.push(row.id);
      } else if (await job.isFailed()) {
        // The worker gave up after its attempts but could not record it; record it now.
        await markFailed(handle.db, row.id, job.failedReason ?? 'job failed');
      }
    }
    const requeued = await requeue(handle.db, lost);
    if (requeued > 0) {
      logger.warn({ count: requeued }, 'outbox rows lost their jobs (Redis flushed?); re-driving them');
      this.kick();
    }
    return requeued;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    if (this.#dueTimer !== null) clearTimeout(this.#dueTimer);
    if (this.#paced !== null) clearTimeout(this.#paced);
    await this.#running;
    await this.#listener?.end().catch(() => {});
    this.#listener = null;
  }

  async #drain(): Promise<void> {
    const { handle, queues, batchSize, deliverLocally } = this.#options;
    // Until a batch of theirs fails in this pass, card refreshes are delivered here, not queued.
    let local = deliverLocally !== undefined;
    // Hand-overs to the queues and turns of local delivery alternate, hand-overs first: a
    // write-back or a ticket waits for one turn of a card backlog at most, not for all of it.
    for (;;) {
      const sharing = {
        topics: ['notify'],
        most: NOTIFY_BATCH,
        jobIdPrefix: sharedJobIdPrefix(),
        keepNotify: local,
      };
      const moved = await relayPending(handle.db, batchSize, sharing, (rows) => enqueue(queues, rows));
      if (this.#stopped) return;
      const turn = local ? await this.#deliverLocally() : 'done';
      if (turn === 'failed') local = false;
      else if (moved < batchSize && turn === 'done') break;
    }
    await this.#wakeAtNextDue();
  }

  /**
   * One turn of local delivery: batches of NOTIFY_BATCH rows, each in a transaction of its own,
   * for `localTurnMs` at most. Says whether due rows are left (`more`), or that a batch failed and
   * rolled back (its rows then go to the notify queue with the other topics' rows).
   */
  async #deliverLocally(): Promise<'done' | 'more' | 'failed'> {
    const { deliverLocally, logger, localTurnMs } = this.#options;
    if (deliverLocally === undefined) return 'done';
    const started = Date.now();
    try {
      while (!this.#stopped) {
        if ((await deliverLocally(NOTIFY_BATCH)) < NOTIFY_BATCH) return 'done';
        if (Date.now() - started >= localTurnMs) return 'more';
      }
      return 'done';
    } catch (error) {
      logger.warn({ err: error }, 'could not deliver cards locally; handing them to the notify queue');
      return 'failed';
    }
  }

  /** Delayed rows (reminders, escalation steps) are relayed when due, not at the next poll. */
  async #wakeAtNextDue(): Promise<void> {
    const ms = await msUntilNextDue(this.#options.handle.db);
    if (this.#dueTimer !== null) clearTimeout(this.#dueTimer);
    this.#dueTimer = null;
    if (ms === null || ms >= this.#options.pollMs || this.#stopped) return;
    this.#dueTimer = setTimeout(() => {
      this.#dueTimer = null;
      this.kick();
    }, ms + 2);
  }

  async #listen(): Promise<void> {
    if (this.#stopped) return;
    const { logger, databaseUrl, applicationName, handle } = this.#options;
    const client = new pg.Client({
      connectionString: databaseUrl,
      application_name: applicationName ?? 'vigil',
    });
    let retrying = false;
    /** Drops this client and listens again later; once per client, whatever failed first. */
    const retry = (error: unknown, message: string, afterMs: number) => {
      if (retrying) return;
      retrying = true;
      logger.warn({ code: (error as { code?: string }).code, error: (error as Error).message }, message);
      if (this.#listener === client) this.#listener = null;
      client.end().catch(() => {});
      setTimeout(() => this.#listen().catch(() => {}), afterMs).unref();
    };
    client.on('notification', () => this.kick());
    // Every error needs a listener (an unhandled one crashes the process), even after the first.
    client.on('error', (error) =>
      retry(error, 'outbox LISTEN connection lost; polling until it is back', 1_000),
    );
    try {
      await client.connect();
      await client.query(`LISTEN ${outboxChannel(handle.schema)}`);
      if (this.#stopped) {
        await client.end();
        return;
      }
      this.#listener = client;
    } catch (error) {
      retry(error, 'cannot LISTEN for outbox rows; polling only', 5_000);
    }
  }
}

/**
 * Card refreshes travel up to NOTIFY_BATCH rows to a job, grouped by the relay's claim (rows of
 * one reason share a job, so a job has one priority: BullMQ runs new cards before refreshes of
 * cards already posted). A row alone keeps its own job ID.
 */
async function enqueue(queues: Queues, rows: readonly RelayedRow[]): Promise<void> {
  for (const topic of TOPICS) {
    if (topic === 'notify') continue;
    const jobs = rows
      .filter((row) => row.topic === topic)
      .map((row) => ({
        name: topic,
        data: { outboxId: row.id, payload: row.payload },
        opts: { jobId: jobIdFor(row.id) },
      }));
    if (jobs.length > 0) await queues[topic].addBulk(jobs);
  }
  // Last: if anything above failed, every row goes back to the relay, and only rows with a job ID
  // of their own may be added twice harmlessly (BullMQ ignores a second add); a shared job's is new.
  const notifyJobs = new Map<string, RelayedRow[]>();
  for (const row of rows.filter((row) => row.topic === 'notify')) {
    const jobId = row.jobId ?? jobIdFor(row.id);
    notifyJobs.set(jobId, [...(notifyJobs.get(jobId) ?? []), row]);
  }
  if (notifyJobs.size > 0) {
    await queues.notify.addBulk(
      [...notifyJobs].map(([jobId, shared]) => ({
        name: 'notify',
        data: { rows: shared.map((row) => ({ outboxId: row.id, payload: row.payload })) },
        opts: { jobId, priority: priorityOf(shared[0] as RelayedRow) },
      })),
    );
  }
}

const priorityOf = (row: RelayedRow): number =>
  row.payload.reason === 'created' ? NEW_CARD_PRIORITY : CARD_REFRESH_PRIORITY;
