import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  type ChatIntegration,
  type StartOptions,
  startVigil,
  type Vigil,
  type VigilRoles,
} from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { Clock } from '../../src/domain/index.js';
import { createLogger } from '../../src/logger.js';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const INGEST_TOKEN = 'test-ingest-token-0123456789';
export const API_TOKEN = 'test-api-token-0123456789abcdef';

export interface TestVigil extends Vigil {
  readonly schema: string;
  readonly prefix: string;
  readonly baseUrl: string;
  ingest(
    format: string,
    body: unknown,
    init?: { token?: string | null; raw?: string; headers?: Record<string, string> },
  ): Promise<Response>;
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Stops Vigil, drops its schema and deletes its Redis keys. */
  close(): Promise<void>;
}

/**
 * Starts a whole Vigil against the real Postgres and Redis, in a schema and a queue prefix of its
 * own, so test files can run in parallel without seeing each other.
 */
export async function startTestVigil(
  options: {
    env?: Record<string, string>;
    roles?: VigilRoles;
    clock?: Clock;
    integrations?: readonly ChatIntegration[];
    relayTimings?: StartOptions['relayTimings'];
    /** Another way to the test Postgres (a proxy the test can cut). @defaultValue TEST_DATABASE_URL */
    databaseUrl?: string;
    deliveryTimings?: StartOptions['deliveryTimings'];
    /** Join the schema and queue prefix of another test Vigil (a second process of one install). */
    joining?: TestVigil;
  } = {},
): Promise<TestVigil> {
  const id = randomBytes(5).toString('hex');
  const schema = options.joining?.schema ?? `t_${id}`;
  const prefix = options.joining?.prefix ?? `test-${id}`;
  const config = loadConfig({
    PORT: '0',
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    VIGIL_DB_SCHEMA: schema,
    VIGIL_QUEUE_PREFIX: prefix,
    VIGIL_INGEST_TOKEN: INGEST_TOKEN,
    VIGIL_API_TOKEN: API_TOKEN,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...options.env,
  });
  const vigil = await startVigil({
    config,
    databaseUrl: options.databaseUrl ?? TEST_DATABASE_URL,
    logger: createLogger(config.LOG_LEVEL),
    roles: options.roles ?? { web: true, worker: true },
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.integrations === undefined ? {} : { integrations: options.integrations }),
    ...(options.relayTimings === undefined ? {} : { relayTimings: options.relayTimings }),
    ...(options.deliveryTimings === undefined ? {} : { deliveryTimings: options.deliveryTimings }),
  });
  const baseUrl = vigil.url ?? options.joining?.baseUrl ?? '';
  return {
    ...vigil,
    schema,
    prefix,
    baseUrl,
    ingest: (format, body, init = {}) => {
      const token = init.token === undefined ? INGEST_TOKEN : init.token;
      return fetch(`${baseUrl}/ingest/${format}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...init.headers,
        },
        body: init.raw ?? JSON.stringify(body),
      });
    },
    api: (method, path, body, headers = {}) =>
      fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${API_TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    close: async () => {
      await vigil.stop();
      // A joining Vigil leaves the schema and keys to the one that made them.
      if (options.joining !== undefined) return;
      await dropSchema(schema);
      await deleteRedisKeys(prefix);
    },
  };
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Polls until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`, { cause: last });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** An alert's card row in one chat target (a Slack channel, a Teams conversation), if any. */
export const cardRow = (vigil: TestVigil, alertId: string, target: string) =>
  vigil.handle.db
    .selectFrom('cards')
    .selectAll()
    .where('alert_id', '=', alertId)
    .where('target', '=', target)
    .executeTakeFirst();

export const fixture = (relative: string): URL => new URL(`../fixtures/${relative}`, import.meta.url);
