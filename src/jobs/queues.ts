import { randomUUID } from 'node:crypto';
import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { logConnectionErrors } from '../connection-log.js';
import type { OutboxTopic } from '../domain/index.js';
import type { Logger } from '../logger.js';

/** One queue per outbox topic. */
export const TOPICS = [
  'notify',
  'ticket',
  'remediation_due',
  'remediation_notice',
  'escalate',
  'policy_remediate',
  'policy_investigate',
  'investigate',
  'act',
  'graph_pull',
  'graph_writeback',
  'graph_incident_writeback',
  'identity_lookup',
] as const satisfies readonly OutboxTopic[];

/** Job data as the relay writes it: the outbox row's ID and its payload. */
export interface OutboxJobData {
  readonly outboxId: string;
  readonly payload: Record<string, unknown>;
}

/**
 * A notify job: the card refreshes of several rows, done together (one read, one write of local
 * cards, one completion for all of them), so a storm costs a job per batch, not per alert.
 */
export interface NotifyJobData {
  readonly rows: readonly SharedJobRow[];
}

/** A row of a shared job, with what its earlier runs left: its failures so far and when it is due again. */
export interface SharedJobRow extends OutboxJobData {
  readonly failures?: number;
  /** Epoch milliseconds; a run before this leaves the row alone. */
  readonly notBefore?: number;
}

/** The most rows one notify job carries. */
export const NOTIFY_BATCH = 100;

/**
 * The BullMQ queue of a topic. Notify jobs carry many rows and travel in a queue of their own, so
 * that in a rolling upgrade a worker of an earlier release (one row a job, in `notify`) never
 * takes one; rows whose jobs were left in `notify` are re-driven into this one.
 */
export const queueName = (topic: OutboxTopic): string => (topic === 'notify' ? 'notify_rows' : topic);

/** What a topic's jobs carry. */
export type JobData<T extends OutboxTopic> = T extends 'notify' ? NotifyJobData : OutboxJobData;

export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 500 },
  // Finished jobs are kept a while for inspection; Postgres holds the durable record.
  removeOnComplete: { count: 1_000 },
  removeOnFail: { count: 10_000 },
};

/**
 * Deliveries to the outside world (chat cards, tickets) outlast a long outage: they are retried
 * with capped exponential backoff (the `delivery` strategy of `deliveryBackoff`) until their
 * outbox row is older than the delivery window, however many attempts that takes.
 */
export const DELIVERY_TOPICS: ReadonlySet<OutboxTopic> = new Set(['notify', 'ticket']);

export const DELIVERY_JOB_OPTIONS: JobsOptions = {
  ...DEFAULT_JOB_OPTIONS,
  attempts: 1_000_000,
  backoff: { type: 'delivery' },
};

export interface DeliveryRetry {
  /** How long a delivery is retried before it is marked failed. @defaultValue 24 h (VIGIL_DELIVERY_RETRY_HOURS) */
  readonly windowMs: number;
  /** The first retry's delay; each further one doubles it. @defaultValue 1000 */
  readonly baseMs: number;
  /** The longest delay between two retries. @defaultValue 300000 */
  readonly capMs: number;
}

/** Capped exponential backoff with a little jitter, so a recovered platform is not hit by every job at once. */
export const deliveryBackoff =
  (retry: DeliveryRetry) =>
  (attemptsMade: number): number => {
    const delay = Math.min(retry.capMs, retry.baseMs * 2 ** Math.min(Math.max(attemptsMade - 1, 0), 30));
    return Math.round(delay * (0.8 + Math.random() * 0.2));
  };

/** Job priorities (lower runs first): a storm shows every alert's first card before refreshing older ones. */
export const NEW_CARD_PRIORITY = 1;
export const CARD_REFRESH_PRIORITY = 2;

/** The job ID of an outbox row: BullMQ ignores a second add while the first job exists. */
export const jobIdFor = (outboxId: string): string => `outbox-${outboxId}`;

/**
 * How one relay pass names the jobs its rows share (the relay's claim appends each job's first row
 * ID and records the ID on every row of it, as `job_id`). It is new every pass: a row replayed
 * after its job failed is never mistaken for a row of that failed job.
 */
export const sharedJobIdPrefix = (): string => `outbox-${randomUUID().slice(0, 8)}-`;

export type Queues = { readonly [T in OutboxTopic]: Queue<JobData<T>> };

export function createQueues(connection: Redis, prefix: string, logger: Logger): Queues {
  const onError = logConnectionErrors(logger, 'bullmq queue');
  return Object.fromEntries(
    TOPICS.map((topic) => {
      const queue = new Queue(queueName(topic), {
        connection,
        prefix,
        defaultJobOptions: DELIVERY_TOPICS.has(topic) ? DELIVERY_JOB_OPTIONS : DEFAULT_JOB_OPTIONS,
      });
      // Redis errors reach every queue on the shared connection: one line per outage, not per queue.
      queue.on('error', onError);
      return [topic, queue];
    }),
  ) as unknown as Queues;
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
}
