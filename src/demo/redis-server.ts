import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from '../storage/embedded-postgres.js';

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

/** A `redis-server` that keeps nothing on disk, on 127.0.0.1 only. */
export const redisServerArgs = (port: number, dir: string): string[] => [
  '--port',
  String(port),
  '--bind',
  '127.0.0.1',
  '--save',
  '',
  '--appendonly',
  'no',
  '--dir',
  dir,
];

/**
 * Starts a private `redis-server` for the demo (nothing kept on disk: the demo's Postgres holds
 * the truth and the outbox re-drives whatever Redis forgets). Null when none is on the PATH.
 */
export async function startPrivateRedis(dir: string): Promise<{ url: string; stop(): Promise<void> } | null> {
  const port = await freePort();
  const child = spawn('redis-server', redisServerArgs(port, dir), { stdio: 'ignore' });
  const spawned = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false));
    child.once('spawn', () => resolve(true));
  });
  if (!spawned) return null;
  const url = `redis://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 50; attempt += 1) {
    if (await redisAnswers(url)) {
      return {
        url,
        stop: async () => {
          child.kill('SIGTERM');
        },
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  return null;
}
