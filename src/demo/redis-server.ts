import { spawn } from 'node:child_process';
import { redisAnswers } from '../jobs/redis.js';
import { freePort } from '../storage/embedded-postgres.js';

/**
 * Starts a private `redis-server` for the demo (nothing kept on disk: the demo's Postgres holds
 * the truth and the outbox re-drives whatever Redis forgets). Null when none is on the PATH.
 */
export async function startPrivateRedis(dir: string): Promise<{ url: string; stop(): Promise<void> } | null> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: 'ignore',
    },
  );
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
