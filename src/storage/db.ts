import { type Compilable, CompiledQuery, Kysely, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import { logConnectionErrors } from '../connection-log.js';
import type { Logger } from '../logger.js';
import type { Database } from './schema.js';
import { SchemaScopedPostgresDialect } from './schema-introspector.js';

// Bigints (identity columns, counts) come back as strings rather than lossy numbers; timestamps as Dates.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);

export interface DbOptions {
  readonly url: string;
  /** The Postgres schema Vigil's tables live in; tests give each file its own. */
  readonly schema: string;
  readonly poolSize: number;
  /** How the connections show in `pg_stat_activity`. @defaultValue vigil */
  readonly applicationName?: string;
  /** Where lost connections are reported; silent without one. */
  readonly logger?: Logger;
  /** How long a query waits for a free connection before it fails. @defaultValue 10000 */
  readonly acquireTimeoutMs?: number;
}

export type Db = Kysely<Database>;

export interface DbHandle {
  readonly db: Db;
  readonly pool: pg.Pool;
  readonly schema: string;
  close(): Promise<void>;
}

/** Statement texts that run as named prepared statements, with their names, and the other way. */
const preparedNames = new Map<string, string>();
const preparedTexts = new Map<string, string>();

function register(name: string, text: string): void {
  const known = preparedTexts.get(name);
  if (known === text) return;
  if (known !== undefined) throw new Error(`prepared statement ${name} was given a second text`);
  preparedTexts.set(name, text);
  preparedNames.set(text, name);
}

/** Every statement `prepared` has registered so far, as [name, text]. */
export const preparedStatements = (): [string, string][] => [...preparedTexts];

/**
 * A hot statement of fixed text, run as a named prepared statement: each connection has Postgres
 * parse and plan it once, not on every run. Returns the query to pass to `db.executeQuery`.
 * Only for text that never varies (parameters carry everything else, arrays or JSON for rows).
 */
export function prepared(name: string, text: string): (...parameters: readonly unknown[]) => CompiledQuery {
  register(name, text);
  return (...parameters) => CompiledQuery.raw(text, [...parameters]);
}

/**
 * `prepared` for a query built with Kysely (compiled at each call): for a hot query whose text never
 * varies with its values (a list of varying length would: pass an array). A second text under one
 * name throws. It names its columns (no `*`): a prepared statement whose result columns change
 * under it (a migration) fails until the connection ends.
 */
export function named<R>(name: string, query: Compilable<R>): CompiledQuery<R> {
  const compiled = query.compile();
  register(name, compiled.sql);
  return compiled;
}

/**
 * Kysely hands pg the text of every query; the text of a `prepared` statement goes as pg's named
 * query instead. Looked up on the prototype at each call, so hooks placed on it (the query-count
 * bench) still see every query.
 */
function runPreparedByName(client: pg.PoolClient): void {
  const proto = Object.getPrototypeOf(client) as pg.PoolClient;
  const byName = (text: unknown, values: unknown, callback: unknown) => {
    const name = typeof text === 'string' ? preparedNames.get(text) : undefined;
    const query = proto.query as (...args: unknown[]) => unknown;
    if (name === undefined) return query.call(client, text, values, callback);
    return query.call(client, { name, text, values }, callback);
  };
  client.query = byName as typeof client.query;
}

/** Validates a schema name once, so it can be quoted into SQL and connection options safely. */
export function assertSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`VIGIL_DB_SCHEMA must be a lower-case identifier, got "${schema}"`);
  }
  return schema;
}

/**
 * The pool as Kysely sees it, every query through pg's callback form. Kysely calls pg's promise
 * form (`client.query(sql, parameters)`), and with it the rows of each result stayed reachable
 * from the previous query's objects once those were in the old generation: a scavenge could not
 * free them, so every row read was promoted and waited for a full collection (the 100,000-row
 * export promoted ~100 MB; bench/memory.ts). The callback form leaves nothing behind.
 */
function callbackQueries(pool: pg.Pool): PostgresPool {
  const clients = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => ({
    // Kysely takes the cursor overload only when given a cursor class, which Vigil does not.
    query: ((sql: string, parameters: readonly unknown[]) =>
      new Promise<pg.QueryResult>((resolve, reject) => {
        client.query(sql, [...parameters], (error, result) => (error ? reject(error) : resolve(result)));
      })) as unknown as PostgresPoolClient['query'],
    // pg-pool gives the client a new release function at each checkout.
    release: (destroy) => client.release(destroy),
  });
  return {
    connect: async () => {
      const client = await pool.connect();
      let wrapped = clients.get(client);
      if (wrapped === undefined) {
        wrapped = wrap(client);
        clients.set(client, wrapped);
      }
      return wrapped;
    },
    end: () => pool.end(),
  };
}

/** The settings of every Vigil connection (`options` of its startup message): unqualified names resolve in Vigil's schema first. */
export const sessionOptions = (schema: string): string => `-c search_path=${assertSchemaName(schema)},public`;

export function openDb(options: DbOptions): DbHandle {
  const schema = assertSchemaName(options.schema);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    // A starved pool fails the query (its job retries, its request answers 5xx) rather than hanging for ever.
    connectionTimeoutMillis: options.acquireTimeoutMs ?? 10_000,
    options: sessionOptions(schema),
    application_name: options.applicationName ?? 'vigil',
  });
  // A client that loses its server (a restart, a failover, pg_terminate_backend) emits 'error'.
  // pg-pool listens only while the client is idle; one checked out between two queries (inside a
  // transaction) would crash the process. Every client gets a handler for its whole life: its
  // pending or next query fails instead, the job retries, and the pool drops the broken client.
  const onError = options.logger === undefined ? () => {} : logConnectionErrors(options.logger, 'postgres');
  pool.on('error', onError);
  pool.on('connect', (client) => {
    client.on('error', onError);
    runPreparedByName(client);
  });
  const db = new Kysely<Database>({
    dialect: new SchemaScopedPostgresDialect({ pool: callbackQueries(pool) }, schema),
  });
  return { db, pool, schema, close: () => db.destroy() };
}
