import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import { logConnectionErrors } from '../connection-log.js';
import { ChatRateLimitedError, type OutboxTopic } from '../domain/index.js';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import {
  markCompleted,
  markCompletedMany,
  markFailed,
  type PendingRow,
  pendingRow,
  pendingRows,
} from '../storage/outbox.repository.js';
import {
  type DeliveryRetry,
  deliveryBackoff,
  type NotifyJobData,
  type OutboxJobData,
  queueName,
  type SharedJobRow,
} from './queues.js';

interface TopicWorkerBase<S extends z.ZodType> {
  readonly topic: OutboxTopic;
  readonly handle: DbHandle;
  readonly connection: Redis;
  readonly prefix: string;
  readonly logger: Logger;
  readonly concurrency: number;
  /** The payload's schema: a job with a payload that does not parse fails at once, without retries. */
  readonly payload: S;
  /** For deliveries (DELIVERY_TOPICS): retried with capped backoff until the row is this old. */
  readonly retry?: DeliveryRetry;
}

export interface TopicWorkerOptions<S extends z.ZodType> extends TopicWorkerBase<S> {
  readonly process: (payload: z.output<S>, job: Job<OutboxJobData>) => Promise<void>;
}

/** Passes over one row in one run when more requests keep folding into it; then it comes back shortly. */
const MAX_PASSES = 3;

/** How long a shared job leaves a row that a transaction is folding a request into (see `markCompletedMany`). */
const BUSY_ROW_WAIT_MS = 200;

/**
 * A topic's concurrency, capped so its jobs alone cannot take the whole Postgres pool (two
 * connections stay free for the relay and, in `serve`, for ingest, which waits for one if it
 * keeps more transactions in flight: see `ingestInFlight`). No job holds a connection
 * while it waits for another, so the pool may be busy but never deadlocks; the acquire timeout
 * turns a long wait into a retried error.
 */
export const jobSlots = (wanted: number, handle: DbHandle): number =>
  Math.max(1, Math.min(wanted, (handle.pool.options.max ?? 10) - 2));

/** Come back after `ms` without spending one of the job's attempts. */
async function comeBackIn(job: Job, ms: number): Promise<never> {
  await job.moveToDelayed(Date.now() + ms, job.token);
  throw new DelayedError();
}

const workerOptions = <S extends z.ZodType>(options: TopicWorkerBase<S>) => ({
  connection: options.connection,
  prefix: options.prefix,
  concurrency: jobSlots(options.concurrency, options.handle),
  // A job whose worker died is taken over (stalled); survive a few crashes before BullMQ gives up on it.
  maxStalledCount: 10,
  ...(options.retry === undefined ? {} : { settings: { backoffStrategy: deliveryBackoff(options.retry) } }),
});

/**
 * A BullMQ worker for one outbox topic: parses the payload, runs the processor, and records the
 * outcome on the outbox row (completed, or failed once retries are exhausted). Delivery is at
 * least once, so processors must be idempotent.
 */
export function topicWorker<S extends z.ZodType>(options: TopicWorkerOptions<S>): Worker<OutboxJobData> {
  const { handle, topic } = options;
  const worker = new Worker<OutboxJobData>(
    queueName(topic),
    async (job) => {
      const parsed = options.payload.safeParse(job.data.payload);
      if (!parsed.success) {
        throw new UnrecoverableError(
          `bad ${topic} payload: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
        );
      }
      const { outboxId } = job.data;
      // A duplicate job of a row already done (or given up on) has nothing to do.
      for (let pass = 1, row = await pendingRow(handle.db, outboxId); row !== null; pass += 1) {
        try {
          await options.process(parsed.data, job);
        } catch (error) {
          if (error instanceof ChatRateLimitedError) await comeBackIn(job, error.retryAfterMs);
          throw giveUpAfterWindow(error, row.dueAt, options.retry);
        }
        // Requests folded into the row while this pass ran are served by another pass.
        if (await markCompleted(handle.db, outboxId, row.requested)) return;
        if (pass >= MAX_PASSES) await comeBackIn(job, 500);
        row = await pendingRow(handle.db, outboxId);
      }
    },
    workerOptions(options),
  );
  watch(worker, options, (data) => [data.outboxId]);
  return worker;
}

/**
 * Logs a worker's failed jobs and connection errors, and marks the rows of a job that failed for
 * good (`rowsOf` names them) failed; if that cannot be recorded, the relay's re-drive finds them.
 */
function watch<D>(
  worker: Worker<D>,
  { handle, logger, topic }: Pick<TopicWorkerBase<z.ZodType>, 'handle' | 'logger' | 'topic'>,
  rowsOf: (data: D) => readonly string[],
): void {
  worker.on('failed', (job, error) => {
    if (job === undefined || error instanceof DelayedError) return;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    logger.warn({ topic, jobId: job.id, attempt: job.attemptsMade, final, err: error }, 'job failed');
    if (!final) return;
    for (const outboxId of rowsOf(job.data)) {
      markFailed(handle.db, outboxId, error.message).catch((markError) =>
        logger.error({ err: markError }, 'could not record a failed job; the relay will find it'),
      );
    }
  });
  worker.on('error', logConnectionErrors(logger, `bullmq worker ${topic}`));
}

/** One row of a shared job as its processor sees it. */
export interface SharedRow<P> {
  readonly outboxId: string;
  readonly payload: P;
}

/** What became of a row in one pass of a shared job. */
export type SharedRowOutcome =
  /** The row was already done or given up on: nothing was done for it. */
  | { readonly kind: 'gone' }
  /** Its work is done: the row is complete unless a request folded in since `job` was read. */
  | { readonly kind: 'done'; readonly job: PendingRow }
  /** It must wait (a rate limit, a claim held elsewhere): come back after `ms`. */
  | { readonly kind: 'wait'; readonly job: PendingRow; readonly ms: number }
  | { readonly kind: 'failed'; readonly job: PendingRow; readonly error: unknown };

export interface SharedTopicWorkerOptions<S extends z.ZodType> extends TopicWorkerBase<S> {
  readonly retry: DeliveryRetry;
  /** One pass over the rows: every row gets an outcome, a row missing from the map is gone. */
  readonly process: (rows: readonly SharedRow<z.output<S>>[]) => Promise<Map<string, SharedRowOutcome>>;
}

/**
 * A BullMQ worker for a topic whose jobs carry many rows (NotifyJobData). Each run serves the rows
 * that are due, completes the done ones in one statement, and goes round again (at most
 * MAX_PASSES times) for rows a request was folded into meanwhile. What is left stays in the job,
 * each row with its own next attempt: after its wait, or after a backoff that grows with its own
 * failures (so one failing alert never holds back the others); the job comes back when the first
 * is due. A row still failing after the delivery window is given up on alone.
 */
export function sharedTopicWorker<S extends z.ZodType>(
  options: SharedTopicWorkerOptions<S>,
): Worker<NotifyJobData> {
  const { handle, logger, topic } = options;
  const backoff = deliveryBackoff(options.retry);
  const worker = new Worker<NotifyJobData>(
    queueName(topic),
    async (job) => {
      const now = Date.now();
      const later = job.data.rows.filter((row) => (row.notBefore ?? 0) > now);
      const kept = new Map<string, SharedJobRow>(later.map((row) => [row.outboxId, row]));
      let rows: SharedRow<z.output<S>>[] = [];
      for (const row of job.data.rows) {
        if (kept.has(row.outboxId)) continue;
        const parsed = options.payload.safeParse(row.payload);
        if (parsed.success) rows.push({ outboxId: row.outboxId, payload: parsed.data });
        else {
          const fields = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
          await markFailed(handle.db, row.outboxId, `bad ${topic} payload: ${fields}`);
        }
      }
      const carried = new Map(job.data.rows.map((row) => [row.outboxId, row]));
      const keep = (row: SharedRow<unknown>, change: Partial<SharedJobRow>) =>
        kept.set(row.outboxId, { ...(carried.get(row.outboxId) as SharedJobRow), ...change });
      for (let pass = 1; rows.length > 0; pass += 1) {
        const outcomes = await passOver(handle, rows, options.process);
        const done: { row: SharedRow<z.output<S>>; requested: number }[] = [];
        for (const row of rows) {
          const outcome = outcomes.get(row.outboxId) ?? { kind: 'gone' };
          if (outcome.kind === 'done') done.push({ row, requested: outcome.job.requested });
          else if (outcome.kind === 'wait') keep(row, { notBefore: Date.now() + outcome.ms });
          else if (outcome.kind === 'failed') {
            const error = giveUpAfterWindow(outcome.error, outcome.job.dueAt, options.retry);
            const failures = (carried.get(row.outboxId)?.failures ?? 0) + 1;
            logger.warn({ topic, outboxId: row.outboxId, attempt: failures, err: error }, 'row failed');
            if (error instanceof UnrecoverableError) await markFailed(handle.db, row.outboxId, error.message);
            else keep(row, { failures, notBefore: Date.now() + backoff(failures) });
          }
        }
        const { completed, busy } = await markCompletedMany(
          handle.db,
          done.map(({ row, requested }) => ({ id: row.outboxId, requested })),
        );
        // A row being folded into right now is served once that transaction is over, not before.
        for (const { row } of done)
          if (busy.has(row.outboxId)) keep(row, { notBefore: Date.now() + BUSY_ROW_WAIT_MS });
        // Requests folded into a row while this pass ran are served by another pass.
        rows = done
          .filter(({ row }) => !completed.has(row.outboxId) && !busy.has(row.outboxId))
          .map(({ row }) => row);
        if (rows.length > 0 && pass >= MAX_PASSES) {
          for (const row of rows) keep(row, { notBefore: Date.now() + 500 });
          break;
        }
      }
      if (kept.size === 0) return;
      await job.updateData({ rows: [...kept.values()] });
      const first = Math.min(...[...kept.values()].map((row) => row.notBefore ?? 0));
      await comeBackIn(job, Math.max(0, first - Date.now()));
    },
    workerOptions(options),
  );
  watch(worker, options, (data) => data.rows.map((row) => row.outboxId));
  return worker;
}

/**
 * One pass of a shared job. A failure of the pass as a whole (a query of the batch) counts as a
 * failure of each row still pending, so the delivery window applies to it as to any other; only
 * if even that cannot be read (Postgres is away) does the job fail and BullMQ retry it.
 */
async function passOver<P>(
  handle: DbHandle,
  rows: readonly SharedRow<P>[],
  process: (rows: readonly SharedRow<P>[]) => Promise<Map<string, SharedRowOutcome>>,
): Promise<Map<string, SharedRowOutcome>> {
  try {
    return await process(rows);
  } catch (error) {
    const pending = await pendingRows(
      handle.db,
      rows.map((row) => row.outboxId),
    );
    return new Map(
      rows.map((row) => {
        const job = pending.get(row.outboxId);
        return [row.outboxId, job === undefined ? { kind: 'gone' } : { kind: 'failed', job, error }];
      }),
    );
  }
}

/**
 * A delivery keeps being retried (the job's attempts are practically unbounded) until its row is
 * older than the window; the failure that comes after that is the last.
 */
function giveUpAfterWindow(error: unknown, since: Date, retry: DeliveryRetry | undefined): unknown {
  if (retry === undefined || error instanceof UnrecoverableError) return error;
  if (Date.now() - since.getTime() <= retry.windowMs) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new UnrecoverableError(`still failing after the delivery window: ${reason}`);
}
