import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import type { Config } from './config.js';
import { redisAnswers } from './demo/redis-server.js';
import type { OutboxTopic } from './domain/index.js';
import { closeQueues, createQueues, jobIdFor, TOPICS } from './jobs/queues.js';
import { redisConnection } from './jobs/redis.js';
import { scrubText } from './log-scrub.js';
import type { Logger } from './logger.js';
import { openDb } from './storage/db.js';
import { migrate } from './storage/migrate.js';
import { outboxChannel } from './storage/outbox.repository.js';
import { failedOutboxRows, replayFailed } from './storage/outbox-admin.repository.js';

export const OUTBOX_USAGE = `Usage:
  vigil outbox failed [--topic T] [--limit N]   list outbox rows given up on (oldest first; N defaults to 50)
  vigil outbox replay [--topic T] [--id ID]     send failed rows through the relay again`;

interface Output {
  log(line: string): void;
  error(line: string): void;
}

/** Rows handled per round trip when replaying. */
const REPLAY_BATCH = 500;

/**
 * Errors come from chat platforms, ticketing systems and webhooks; a careless one may quote a
 * token or a signed URL. What the command prints is masked, whatever the source wrote.
 */
export function maskSecrets(text: string): string {
  // Tokens and credentials as the log scrubber finds them, then those URLs carry.
  return scrubText(text)
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1[redacted]@')
    .replace(/([?&](?:token|key|secret|sig|signature|password|code|access_token)=)[^&\s]+/gi, '$1[redacted]');
}

/** `vigil outbox ...`: returns the exit code. */
export async function runOutboxCommand(
  args: readonly string[],
  config: Config,
  databaseUrl: string,
  logger: Logger,
  out: Output = console,
): Promise<number> {
  const [sub, ...rest] = args;
  let flags: Flags;
  try {
    const { values } = parseArgs({
      args: [...rest],
      options: { topic: { type: 'string' }, limit: { type: 'string' }, id: { type: 'string' } },
      strict: true,
    });
    flags = values;
  } catch (error) {
    out.error(`${(error as Error).message}\n\n${OUTBOX_USAGE}`);
    return 2;
  }
  const problem = checkFlags(sub, flags);
  if (problem !== null) {
    out.error(`${problem}\n\n${OUTBOX_USAGE}`);
    return 2;
  }
  const handle = openDb({
    url: databaseUrl,
    schema: config.VIGIL_DB_SCHEMA,
    poolSize: 2,
    applicationName: config.VIGIL_DB_APPLICATION_NAME,
    logger,
  });
  try {
    const migrated = await migrate(handle);
    if (migrated.error !== undefined) throw new Error('database migration failed', { cause: migrated.error });
    if (sub === 'failed') {
      const rows = await failedOutboxRows(handle.db, {
        ...(flags.topic === undefined ? {} : { topic: flags.topic }),
        limit: flags.limit === undefined ? 50 : Number(flags.limit),
      });
      for (const row of rows) {
        const error = maskSecrets(row.lastError ?? '')
          .replace(/\s+/g, ' ')
          .slice(0, 300);
        out.log(`${row.id}\t${row.topic}\t${row.failedAt.toISOString()}\t${error}`);
      }
      out.log(`${rows.length} failed outbox row(s)${flags.topic === undefined ? '' : ` in ${flags.topic}`}.`);
      return 0;
    }
    return await replay(handle, config, logger, out, flags);
  } finally {
    await handle.close();
  }
}

interface Flags {
  topic?: string | undefined;
  limit?: string | undefined;
  id?: string | undefined;
}

function checkFlags(sub: string | undefined, flags: Flags): string | null {
  if (sub !== 'failed' && sub !== 'replay')
    return sub === undefined ? 'Missing subcommand.' : `Unknown subcommand "${sub}".`;
  if (flags.topic !== undefined && !(TOPICS as readonly string[]).includes(flags.topic))
    return `--topic must be one of ${TOPICS.join(', ')}.`;
  if (sub === 'failed' && flags.id !== undefined) return '--id goes with replay.';
  if (sub === 'replay' && flags.limit !== undefined) return '--limit goes with failed.';
  if (flags.limit !== undefined && !/^[1-9][0-9]{0,5}$/.test(flags.limit))
    return '--limit must be a whole number from 1 to 999999.';
  if (flags.id !== undefined && !/^[1-9][0-9]{0,18}$/.test(flags.id))
    return '--id must be an outbox row ID (a number).';
  return null;
}

/**
 * Removes each failed row's job from BullMQ first (a job ID that still exists in Redis, even
 * failed, makes the relay's next add a no-op), then clears the row's failure so the relay sends
 * it again. Rows no longer failed are left alone, so a second replay changes nothing.
 */
async function replay(
  handle: ReturnType<typeof openDb>,
  config: Config,
  logger: Logger,
  out: Output,
  flags: Flags,
): Promise<number> {
  // BullMQ waits for a Redis that is away rather than failing: check it answers first.
  if (!(await redisAnswers(config.REDIS_URL))) {
    out.error('Redis (REDIS_URL) does not answer: nothing was replayed.');
    return 1;
  }
  const producer = redisConnection(config.REDIS_URL, 'producer', logger);
  const queues = createQueues(producer, config.VIGIL_QUEUE_PREFIX, logger);
  let replayed = 0;
  try {
    let afterId: string | undefined;
    for (;;) {
      const rows = await failedOutboxRows(handle.db, {
        ...(flags.topic === undefined ? {} : { topic: flags.topic }),
        ...(flags.id === undefined ? {} : { id: flags.id }),
        ...(afterId === undefined ? {} : { afterId }),
        limit: REPLAY_BATCH,
      });
      if (rows.length === 0) break;
      for (const row of rows) {
        const queue = queues[row.topic as OutboxTopic];
        if (queue !== undefined) await withDeadline(queue.remove(jobIdFor(row.id)), 10_000);
      }
      replayed += (
        await replayFailed(
          handle.db,
          rows.map((row) => row.id),
        )
      ).length;
      afterId = rows[rows.length - 1]?.id;
      if (rows.length < REPLAY_BATCH) break;
    }
  } catch (error) {
    out.error(`Replay stopped after ${replayed} row(s): ${maskSecrets((error as Error).message)}`);
    return 1;
  } finally {
    await closeQueues(queues).catch(() => {});
    producer.disconnect();
  }
  if (replayed > 0) await sql`SELECT pg_notify(${outboxChannel(handle.schema)}, '')`.execute(handle.db);
  logger.info({ replayed, topic: flags.topic ?? null, id: flags.id ?? null }, 'replayed failed outbox rows');
  out.log(`Replayed ${replayed} failed outbox row(s)${replayed > 0 ? '; the relay sends them again' : ''}.`);
  return 0;
}

/** `promise`, or an error once `ms` have passed (Redis went away mid-replay). */
async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
