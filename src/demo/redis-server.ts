import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { freePort } from '../storage/embedded-postgres.js';

const DEFAULT_REDIS = 'redis://127.0.0.1:6379';

const REDIS_HELP = `Vigil needs Redis for its job queues, and none could be had:
  - there is no redis-server on the PATH to start a private one, and
  - nothing answers at ${DEFAULT_REDIS}.
Install Redis (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis),
or point REDIS_URL at one you have, then run npm run demo again.`;

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
 * the truth and the outbox re-drives whatever Redis forgets). It runs in a process group of its
 * own, so the Ctrl-C that stops the demo reaches the demo first, which then stops it in order.
 * Null when none is on the PATH.
 */
export async function startPrivateRedis(dir: string): Promise<{ url: string; stop(): Promise<void> } | null> {
  const port = await freePort();
  const child = spawn('redis-server', redisServerArgs(port, dir), { stdio: 'ignore', detached: true });
  const spawned = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false));
    child.once('spawn', () => resolve(true));
  });
  if (!spawned) return null;
  const url = `redis://127.0.0.1:${port}`;
  // Out of the terminal's process group, it would outlive a demo that crashed: it goes with it.
  const orphanGuard = () => child.kill('SIGTERM');
  process.once('exit', orphanGuard);
  const stop = async () => {
    process.off('exit', orphanGuard);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  };
  for (let attempt = 0; attempt < 50; attempt += 1) {
    if (await redisAnswers(url)) return { url, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.off('exit', orphanGuard);
  child.kill('SIGKILL');
  return null;
}

/** Deletes the keys under one queue prefix, so a demo leaves nothing behind in a Redis it borrowed. */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** A Redis URL as the demo prints it: never with its password. */
const shown = (url: string): string => {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.href.replace(/\/$/, '');
  } catch {
    return 'REDIS_URL';
  }
};

export interface DemoRedis {
  readonly url: string;
  /** Which Redis the demo uses, in words, for its summary. */
  readonly description: string;
  stop(): Promise<void>;
}

/**
 * The demo's Redis: REDIS_URL when set; else a private redis-server when one is on the PATH (as
 * the design says: the demo writes nothing into a Redis the user has); else the local Redis at
 * 6379. In a Redis it borrows, the demo deletes its own keys (its prefix is its own) when it
 * stops. Null, with the help printed, when there is none at all.
 */
export async function demoRedis(
  env: Readonly<Record<string, string | undefined>>,
  dataDir: string,
  prefix: { readonly value: string; readonly ownedByDemo: boolean },
): Promise<DemoRedis | null> {
  const cleanUp = (url: string) => async () => {
    if (prefix.ownedByDemo) await deleteKeys(url, prefix.value).catch(() => {});
  };
  if (env.REDIS_URL !== undefined && env.REDIS_URL !== '') {
    return {
      url: env.REDIS_URL,
      description: `${shown(env.REDIS_URL)} (REDIS_URL), keys under "${prefix.value}:"`,
      stop: cleanUp(env.REDIS_URL),
    };
  }
  const own = await startPrivateRedis(dataDir);
  if (own !== null) {
    return {
      url: own.url,
      description: `a private redis-server at ${own.url}, started for this demo and stopped with it`,
      stop: own.stop,
    };
  }
  if (await redisAnswers(DEFAULT_REDIS)) {
    return {
      url: DEFAULT_REDIS,
      description: `the Redis at ${DEFAULT_REDIS} (no redis-server on the PATH to start a private one), keys under "${prefix.value}:"${prefix.ownedByDemo ? ', deleted when the demo stops' : ''}`,
      stop: cleanUp(DEFAULT_REDIS),
    };
  }
  console.error(REDIS_HELP);
  return null;
}
