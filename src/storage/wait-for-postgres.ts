import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Logger } from '../logger.js';
import type { DbHandle } from './db.js';

/** Errors of a Postgres that is down, restarting or not yet reachable; any other is a real problem. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, shutting down, in recovery
  '53300', // too_many_connections
]);

/** pg's errors without a code for a connection that broke or could not be had. */
const UNREACHABLE_MESSAGES = [
  'Connection terminated',
  'connection error and is not queryable',
  'timeout exceeded when trying to connect',
];

/** Is this the error of a Postgres that is down, restarting, or out of connections for now? */
export function isPostgresUnreachable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && UNREACHABLE.has(code)) return true;
  return typeof message === 'string' && UNREACHABLE_MESSAGES.some((part) => message.includes(part));
}

/**
 * Waits, with capped backoff, until Postgres answers: a process started while its database is
 * restarting or not up yet (a whole stack booting at once) waits for it instead of exiting.
 * Anything else (a wrong password, a missing database) is thrown at once: a configuration error.
 */
export async function waitForPostgres(handle: DbHandle, logger: Logger): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await sql`SELECT 1`.execute(handle.db);
      if (attempt > 1) logger.info({ attempt }, 'Postgres is reachable');
      return;
    } catch (error) {
      if (!isPostgresUnreachable(error)) throw error;
      const retryInMs = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7));
      logger.warn(
        { code: (error as { code?: string }).code, error: (error as Error).message, attempt, retryInMs },
        'Postgres is not reachable yet; waiting for it',
      );
      await sleep(retryInMs);
    }
  }
}
