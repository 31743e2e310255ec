import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import { logConnectionErrors } from '../connection-log.js';
import { ChatRateLimitedError, type OutboxTopic } from '../domain/index.js';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import { markCompleted, markFailed } from '../storage/outbox.repository.js';
import type { OutboxJobData } from './queues.js';

export interface TopicWorkerOptions<S extends z.ZodType> {
  readonly topic: OutboxTopic;
  readonly handle: DbHandle;
  readonly connection: Redis;
  readonly prefix: string;
  readonly logger: Logger;
  readonly concurrency: number;
  /** The payload's schema: a job with a payload that does not parse fails at once, without retries. */
  readonly payload: S;
  readonly process: (payload: z.output<S>, job: Job<OutboxJobData>) => Promise<void>;
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
      try {
        await options.process(parsed.data, job);
      } catch (error) {
        if (error instanceof ChatRateLimitedError) {
          // Come back when the platform allows, without spending one of the job's attempts.
          await job.moveToDelayed(Date.now() + error.retryAfterMs, job.token);
          throw new DelayedError();
        }
        throw error;
      }
      await markCompleted(handle.db, job.data.outboxId);
    },
    { connection: options.connection, prefix: options.prefix, concurrency: options.concurrency },
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
