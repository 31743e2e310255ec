import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { OutboxTopic } from '../domain/index.js';

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
] as const satisfies readonly OutboxTopic[];

/** Job data as the relay writes it: the outbox row's ID and its payload. */
export interface OutboxJobData {
  readonly outboxId: string;
  readonly payload: Record<string, unknown>;
}

export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 500 },
  // Finished jobs are kept a while for inspection; Postgres holds the durable record.
  removeOnComplete: { count: 1_000 },
  removeOnFail: { count: 10_000 },
};

/** The job ID of an outbox row: BullMQ ignores a second add while the first job exists. */
export const jobIdFor = (outboxId: string): string => `outbox-${outboxId}`;

export type Queues = Readonly<Record<OutboxTopic, Queue<OutboxJobData>>>;

export function createQueues(connection: Redis, prefix: string): Queues {
  return Object.fromEntries(
    TOPICS.map((topic) => [
      topic,
      new Queue<OutboxJobData>(topic, { connection, prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS }),
    ]),
  ) as unknown as Queues;
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
}
