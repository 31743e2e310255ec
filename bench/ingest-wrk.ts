import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { defaultWebProcesses, postgresOnThisHost } from '../src/web-cluster.js';
import { TEST_DATABASE_URL } from '../test/helpers/harness.js';
import { cpuMs, runIfMain, startBenchVigil } from './lib.js';

/**
 * Ingest against raw Postgres, in one run, each measurement alone:
 *  1. `pgbench`, 16 clients, single-row INSERTs of an alert-shaped row into a scratch schema;
 *  2. `vigil web` driven by `wrk` (64 connections, one alert per POST /ingest/generic, distinct
 *     fingerprints); nothing drains meanwhile (no worker runs);
 *  3. `vigil serve` alike, after its warm-up backlog has drained, and its own backlog drained
 *     before it stops.
 * Prints each rate, the two ratios to pgbench's, p50 and p99, the CPU time Vigil's processes spent per
 * alert during the measurement and that of their Postgres backends (less noisy than the rates on a shared
 * machine), and the load average. Both tools are
 * Debian packages (`postgresql-contrib` for pgbench, `wrk`); a missing one is named, not installed.
 * `INGEST_SECONDS` sets each measurement's length (default 10); `INGEST_ROLES` which roles run (default
 * `web,serve`), to compare one alone.
 */

const run = promisify(execFile);
const TOKEN = 'bench-ingest-token-0123456789';
const SECONDS = Number(process.env.INGEST_SECONDS ?? 10);
const VIGIL_CONNECTIONS = 64;
const PGBENCH_CLIENTS = 16;
const ROLES = (process.env.INGEST_ROLES ?? 'web,serve')
  .split(',')
  .filter((role): role is 'web' | 'serve' => role === 'web' || role === 'serve');

interface Rate {
  readonly perSecond: number;
  /** Requests answered 2xx (wrk only). */
  readonly accepted?: number;
  /** CPU ms per alert accepted of Vigil's processes and of their Postgres backends (wrk only). */
  readonly cpuMsPerAlert?: { readonly vigil: number; readonly postgres: number };
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly errors: number;
}

async function hasTool(name: string, apt: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${name}`]);
    return true;
  } catch {
    console.log(`${name} is not installed: apt-get install ${apt} (skipping the wrk ingest bench)`);
    return false;
  }
}

const load = (): string =>
  `load average ${loadavg()
    .map((n) => n.toFixed(2))
    .join(', ')}`;

/** The same shape as bench/ingest.ts's raw baseline: the columns of `alerts` an ingest writes. */
const RAW_TABLE = (schema: string) => `CREATE TABLE "${schema}".raw_alerts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), source text NOT NULL, fingerprint text NOT NULL, title text NOT NULL,
  description text NOT NULL, severity text NOT NULL, labels jsonb NOT NULL, first_seen_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`;

const PGBENCH_SCRIPT = (schema: string) => `\\set n random(1, 1000000000)
INSERT INTO "${schema}".raw_alerts (source, fingerprint, title, description, severity, labels, first_seen_at, last_seen_at)
VALUES ('bench', 'raw-' || :client_id || '-' || :n, 'Raw alert ' || :n, 'A benchmark alert', 'high',
  jsonb_build_object('host', 'h' || (:n % 50)), now(), now());
`;

async function pgbenchRate(dir: string): Promise<Rate> {
  const schema = `bench_raw_${randomBytes(4).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
  await pool.query(`CREATE SCHEMA "${schema}"`);
  await pool.query(RAW_TABLE(schema));
  const script = join(dir, 'insert.sql');
  await writeFile(script, PGBENCH_SCRIPT(schema));
  try {
    const url = new URL(TEST_DATABASE_URL);
    const { stdout } = await run(
      'pgbench',
      [
        '-n',
        '-M',
        'prepared',
        '-c',
        String(PGBENCH_CLIENTS),
        '-j',
        '2',
        '-T',
        String(SECONDS),
        '-f',
        script,
        '-h',
        url.hostname,
        '-p',
        url.port || '5432',
        '-U',
        decodeURIComponent(url.username) || 'postgres',
        url.pathname.slice(1),
      ],
      { env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password), PGAPPNAME: 'vigil-bench' } },
    );
    const tps = /tps = ([\d.]+)/.exec(stdout);
    if (tps === null) throw new Error(`pgbench printed no rate:\n${stdout}`);
    const failed = /number of failed transactions: (\d+)/.exec(stdout);
    return { perSecond: Number(tps[1]), p50Ms: null, p99Ms: null, errors: Number(failed?.[1] ?? 0) };
  } finally {
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
    await pool.end();
  }
}

/**
 * wrk's Lua: every request a new fingerprint (thread number and counter in the alert's id), and
 * at the end one JSON line with the count, errors and latency percentiles (microseconds).
 */
const WRK_SCRIPT = (runId: string) => `
local threads = {}
local counter = 0
local prefix = "${runId}"
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer ${TOKEN}"
end
function request()
  counter = counter + 1
  local n = tid .. "-" .. counter
  local body = '{"title":"Bench alert ' .. n .. '","severity":"high","source":"bench","id":"' .. prefix .. '-' .. n ..
    '","entities":[{"kind":"device","id":"host-' .. (counter % 50) .. '"}],"labels":{"host":"host-' .. (counter % 50) .. '"}}'
  return wrk.format(nil, nil, nil, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;

async function wrk(url: string, dir: string, seconds: number, runId: string): Promise<Rate> {
  const script = join(dir, `${runId}.lua`);
  await writeFile(script, WRK_SCRIPT(runId));
  const { stdout } = await run(
    'wrk',
    ['-t2', `-c${VIGIL_CONNECTIONS}`, `-d${seconds}s`, '--timeout', '10s', '-s', script, url],
    { maxBuffer: 1 << 20 },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('WRK '));
  if (line === undefined) throw new Error(`wrk printed no summary:\n${stdout}`);
  const r = JSON.parse(line.slice(4)) as Record<string, number>;
  const ok = (r.requests ?? 0) - (r.non2xx ?? 0);
  return {
    perSecond: ok / ((r.duration_us ?? 1) / 1e6),
    accepted: ok,
    p50Ms: (r.p50_us ?? 0) / 1000,
    p99Ms: (r.p99_us ?? 0) / 1000,
    errors: (r.non2xx ?? 0) + (r.socket_errors ?? 0),
  };
}

/** Waits until every outbox row of the schema is done (completed or failed). */
async function waitForDrain(pool: pg.Pool, schema: string): Promise<void> {
  for (;;) {
    const { rows } = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM "${schema}".outbox WHERE completed_at IS NULL AND failed_at IS NULL`,
    );
    if (Number(rows[0]?.n) === 0) return;
    await sleep(250);
  }
}

/** One Vigil role in its own process and schema: warm-up, drained, measured, drained. */
async function vigilRate(role: 'web' | 'serve', dir: string): Promise<Rate> {
  const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
  const applicationName = `vigil-wrk-${randomBytes(4).toString('hex')}`;
  const vigil = await startBenchVigil(
    'wrk',
    {
      VIGIL_DB_APPLICATION_NAME: applicationName,
      VIGIL_INGEST_TOKEN: TOKEN,
      VIGIL_INGEST_RATE_LIMIT: '1000000',
      VIGIL_DB_POOL_SIZE: '16',
    },
    role,
  );
  const { id, schema } = vigil;
  try {
    const url = `${vigil.url}/ingest/generic`;
    await wrk(url, dir, 2, `warm-${id}`); // JIT, connections, plans
    if (role === 'serve') await waitForDrain(pool, schema);
    const pid = vigil.child.pid as number;
    const cpuBefore = await cpuMs(pid, pool, applicationName);
    const rate = await wrk(url, dir, SECONDS, `run-${id}`);
    // Whatever serve left to do is drained before the next measurement starts (and counted: it is the alerts' work).
    if (role === 'serve') await waitForDrain(pool, schema);
    // Backends that closed during the run are missed; the pool keeps its connections under load.
    const cpuAfter = await cpuMs(pid, pool, applicationName);
    const accepted = rate.accepted ?? 1;
    return {
      ...rate,
      cpuMsPerAlert: {
        vigil: (cpuAfter.vigil - cpuBefore.vigil) / accepted,
        postgres: (cpuAfter.postgres - cpuBefore.postgres) / accepted,
      },
    };
  } finally {
    await vigil.stop();
    await pool.end();
  }
}

const ms = (value: number | null) => (value === null ? '' : `${value.toFixed(1)} ms`);

export async function benchIngestWrk(): Promise<void> {
  console.log(
    `\n## Ingest against raw Postgres (pgbench ${PGBENCH_CLIENTS} clients; wrk ${VIGIL_CONNECTIONS} connections, one alert per POST /ingest/generic; ${SECONDS} s each, one at a time)`,
  );
  if (!(await hasTool('pgbench', 'postgresql-contrib')) || !(await hasTool('wrk', 'wrk'))) return;
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-'));
  try {
    console.log(`before: ${load()}`);
    const raw = await pgbenchRate(dir);
    console.log(`pgbench single-row INSERT: ${raw.perSecond.toFixed(0)}/s, failed ${raw.errors} (${load()})`);
    // As shipped: VIGIL_WEB_PROCESSES unset unless the caller's environment sets it.
    const webProcesses =
      process.env.VIGIL_WEB_PROCESSES ??
      defaultWebProcesses(availableParallelism(), postgresOnThisHost(TEST_DATABASE_URL));
    for (const role of ROLES) {
      const rate = await vigilRate(role, dir);
      console.log(
        `vigil ${role}${role === 'web' ? ` (${webProcesses} process(es))` : ''}: ${rate.perSecond.toFixed(0)}/s, ${(rate.perSecond / raw.perSecond).toFixed(2)} of pgbench, p50 ${ms(rate.p50Ms)}, p99 ${ms(rate.p99Ms)}, errors ${rate.errors}, CPU per alert: Vigil ${rate.cpuMsPerAlert?.vigil.toFixed(3)} ms, its Postgres backends ${rate.cpuMsPerAlert?.postgres.toFixed(3)} ms (${load()})`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, benchIngestWrk);
