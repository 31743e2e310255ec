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

/** Does a Redis answer PING at this URL within a second? */
export async function redisAnswers(url: string): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}
