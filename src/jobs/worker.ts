import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import { logConnectionErrors } from '../connection-log.js';
import { ChatRateLimitedError, type OutboxTopic } from '../domain/index.js';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import { markCompleted, markFailed, type PendingRow, pendingRow } from '../storage/outbox.repository.js';
import { type DeliveryRetry, deliveryBackoff, type OutboxJobData } from './queues.js';

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

type Processor<S extends z.ZodType, R> = (payload: z.output<S>, job: Job<OutboxJobData>) => Promise<R>;

export type TopicWorkerOptions<S extends z.ZodType> = TopicWorkerBase<S> &
  (
    | { readonly readsOwnRow?: false; readonly process: Processor<S, void> }
    | {
        /**
         * The processor reads the job's outbox row in its own first query (saving one query per
         * pass) and returns it as `pendingRow` would: null when the row is already done, and it
         * then did nothing. It must read the row no later than the state it acts on, so that a
         * request folded in after that read moves `requested` and the row is not marked completed.
         */
        readonly readsOwnRow: true;
        readonly process: Processor<S, PendingRow | null>;
      }
  );

/** Passes over one row in one run when more requests keep folding into it; then it comes back shortly. */
const MAX_PASSES = 3;

/**
 * A topic's concurrency, capped so its jobs alone cannot take the whole Postgres pool (two
 * connections stay free for the relay and, in `serve`, for ingest). No job holds a connection
 * while it waits for another, so the pool may be busy but never deadlocks; the acquire timeout
 * turns a long wait into a retried error.
 */
export const jobSlots = (wanted: number, handle: DbHandle): number =>
  Math.max(1, Math.min(wanted, (handle.pool.options.max ?? 10) - 2));

/** Come back after `ms` without spending one of the job's attempts. */
async function comeBackIn(job: Job<OutboxJobData>, ms: number): Promise<never> {
  await job.moveToDelayed(Date.now() + ms, job.token);
  throw new DelayedError();
}

/**
 * A BullMQ worker for one outbox topic: parses the payload, runs the processor, and records the
 * outcome on the outbox row (completed, or failed once retries are exhausted). Delivery is at
 * least once, so processors must be idempotent.
 */
export function topicWorker<S extends z.ZodType>(options: TopicWorkerOptions<S>): Worker<OutboxJobData> {
  const { handle, logger, topic } = options;
  const worker = new Worker<OutboxJobData>(
    topic,
    async (job) => {
      const parsed = options.payload.safeParse(job.data.payload);
      if (!parsed.success) {
        throw new UnrecoverableError(
          `bad ${topic} payload: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
        );
      }
      const { outboxId } = job.data;
      // A duplicate job of a row already done (or given up on) has nothing to do.
      let row = options.readsOwnRow === true ? undefined : await pendingRow(handle.db, outboxId);
      for (let pass = 1; row !== null; pass += 1) {
        try {
          if (options.readsOwnRow === true) row = await options.process(parsed.data, job);
          else await options.process(parsed.data, job);
        } catch (error) {
          if (error instanceof ChatRateLimitedError) await comeBackIn(job, error.retryAfterMs);
          // Only a failure needs the row a processor reading its own did not hand back.
          row ??= await pendingRow(handle.db, outboxId);
          if (row === null) return;
          throw giveUpAfterWindow(error, row.dueAt, options.retry);
        }
        // Done elsewhere meanwhile (null); a pass always leaves the row read, never undefined.
        if (!row) return;
        // Requests folded into the row while this pass ran are served by another pass.
        if (await markCompleted(handle.db, outboxId, row.requested)) return;
        if (pass >= MAX_PASSES) await comeBackIn(job, 500);
        if (options.readsOwnRow !== true) row = await pendingRow(handle.db, outboxId);
      }
    },
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: jobSlots(options.concurrency, handle),
      // A job whose worker died is taken over (stalled); survive a few crashes before BullMQ gives up on it.
      maxStalledCount: 10,
      ...(options.retry === undefined
        ? {}
        : { settings: { backoffStrategy: deliveryBackoff(options.retry) } }),
    },
  );
  worker.on('failed', (job, error) => {
    if (job === undefined || error instanceof DelayedError) return;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    logger.warn({ topic, jobId: job.id, attempt: job.attemptsMade, final, err: error }, 'job failed');
    if (final) {
      markFailed(handle.db, job.data.outboxId, error.message).catch((markError) =>
        logger.error({ err: markError }, 'could not record a failed job; the relay will find it'),
      );
    }
  });
  worker.on('error', logConnectionErrors(logger, `bullmq worker ${topic}`));
  return worker;
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
