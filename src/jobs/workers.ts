import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ChatChannel } from '../domain/index.js';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import { deliverAlert, notifyPayload } from './notify.worker.js';
import { topicWorker } from './worker.js';

export interface WorkerDeps {
  readonly handle: DbHandle;
  readonly connection: Redis;
  readonly prefix: string;
  readonly logger: Logger;
  readonly channels: readonly ChatChannel[];
}

/** One BullMQ worker per outbox topic; a new topic adds its worker here and its name to TOPICS. */
export function startTopicWorkers(deps: WorkerDeps): Worker[] {
  const { handle, connection, prefix, logger, channels } = deps;
  const common = { handle, connection, prefix, logger };
  return [
    topicWorker({
      ...common,
      topic: 'notify',
      concurrency: 16,
      payload: notifyPayload,
      process: (payload) => deliverAlert({ handle, channels, logger }, payload.alertId),
    }),
  ];
}
