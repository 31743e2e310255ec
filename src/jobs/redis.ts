import { Redis } from 'ioredis';
import { logConnectionErrors } from '../connection-log.js';
import type { Logger } from '../logger.js';

/**
 * Producers fail fast when Redis is away (the outbox keeps the work and retries); workers wait
 * for it forever, as BullMQ requires (`maxRetriesPerRequest: null`).
 */
export function redisConnection(url: string, role: 'producer' | 'worker', logger: Logger): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    lazyConnect: false,
  });
  // ioredis reconnects by itself; an unhandled 'error' event would crash the process.
  redis.on('error', logConnectionErrors(logger, `redis ${role}`));
  return redis;
}
