import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type pg from 'pg';
import { freePort } from '../src/storage/embedded-postgres.js';
import { deleteRedisKeys, dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL } from '../test/helpers/harness.js';

/** Percentile of sorted numbers (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

export function summarize(latenciesMs: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN };
}

export const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;

/** A process's resident set now (VmRSS) or at its peak (VmHWM), in MB, from /proc (Linux). */
export function memoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? Number.NaN : Number(match[1]) / 1024;
}

/** Starts a process's VmHWM again from its current resident set (clear_refs 5), to measure the peak of one task. */
export const resetPeakMemory = (pid: number): void => writeFileSync(`/proc/${pid}/clear_refs`, '5');

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** One request over a kept-alive socket; resolves with the status and the time it took. */
function send(
  method: 'GET' | 'POST',
  url: string,
  body: string | null,
  headers: Record<string, string>,
): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method,
        agent,
        headers: {
          ...(body === null
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
          ...headers,
        },
      },
      (response) => {
        response.resume();
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, ms: performance.now() - started }),
        );
      },
    );
    request.on('error', reject);
    request.end(body ?? undefined);
  });
}

/** One POST over a kept-alive socket; resolves with the status and the time it took. */
export const post = (url: string, body: string, headers: Record<string, string>) =>
  send('POST', url, body, headers);

/** One GET over a kept-alive socket, the whole answer read; resolves with the status and the time it took. */
export const get = (url: string, headers: Record<string, string>) => send('GET', url, null, headers);

/** Open loop: starts `rate` requests per second for `seconds`, whatever the answers' speed. */
export async function openLoop(
  rate: number,
  seconds: number,
  send: (i: number) => Promise<{ status: number; ms: number }>,
): Promise<{ latencies: number[]; errors: number; achieved: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const inFlight: Promise<void>[] = [];
  const started = performance.now();
  const total = rate * seconds;
  for (let i = 0; i < total; i += 1) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    inFlight.push(
      send(i).then(
        (result) => {
          if (result.status >= 300) errors += 1;
          else latencies.push(result.ms);
        },
        () => {
          errors += 1;
        },
      ),
    );
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - started) / 1000;
  return { latencies, errors, achieved: latencies.length / elapsed };
}

/** Closed loop: `concurrency` senders back to back for `seconds`. */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  send: (i: number) => Promise<{ status: number; ms: number }>,
): Promise<{ latencies: number[]; errors: number; perSecond: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const i = next++;
        try {
          const result = await send(i);
          if (result.status >= 300) errors += 1;
          else latencies.push(result.ms);
        } catch {
          errors += 1;
        }
      }
    }),
  );
  return { latencies, errors, perSecond: latencies.length / ((performance.now() - started) / 1000) };
}

/** What a Vigil process started with `probe` has spent so far (see bench/vigil-probe.mjs). */
export interface ProbeReading {
  readonly queries: number;
  readonly cpuMs: number;
}

/** Runs the built `vigil <role>` (dist/cli.js, as `npm start` does) in a child process: the server must not share the load generator's event loop. */
export async function startVigilProcess(
  env: Record<string, string>,
  role = 'serve',
  options: { probe?: boolean } = {},
): Promise<{ url: string; child: ChildProcess; probe(): Promise<ProbeReading>; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []),
      ...(options.probe ? ['--import', fileURLToPath(new URL('./vigil-probe.mjs', import.meta.url))] : []),
      'dist/cli.js',
      role,
    ],
    {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'inherit', 'inherit', ...(options.probe ? (['ipc'] as const) : [])],
    },
  );
  const url = `http://${env.HOST ?? '127.0.0.1'}:${env.PORT}`;
  // A worker has no listener to ask; whoever starts one waits for the work it does.
  for (let attempt = 0; role !== 'worker' && attempt < 200; attempt += 1) {
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return {
    url,
    child,
    probe: () =>
      new Promise((resolve, reject) => {
        if (!options.probe) return reject(new Error('this Vigil was started without the probe'));
        child.once('message', (message) => resolve(message as ProbeReading));
        child.send('probe');
      }),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * One bench run's Vigil (see `startVigilProcess`) on a free port, with the test Postgres and Redis,
 * in a schema and queue prefix of its own (`bench_<name>_<id>`): `stop()` drops them too.
 */
export async function startBenchVigil(
  name: string,
  env: Record<string, string>,
  role?: string,
  options: { probe?: boolean } = {},
): Promise<Awaited<ReturnType<typeof startVigilProcess>> & { id: string; schema: string; prefix: string }> {
  const id = randomBytes(4).toString('hex');
  const schema = `bench_${name}_${id}`;
  const prefix = `bench-${name}-${id}`;
  const vigil = await startVigilProcess(
    {
      PORT: String(await freePort()),
      DATABASE_URL: TEST_DATABASE_URL,
      REDIS_URL: TEST_REDIS_URL,
      VIGIL_DB_SCHEMA: schema,
      VIGIL_QUEUE_PREFIX: prefix,
      ...env,
    },
    role,
    options,
  );
  return {
    ...vigil,
    id,
    schema,
    prefix,
    async stop() {
      await vigil.stop();
      await dropSchema(schema);
      await deleteRedisKeys(prefix);
    },
  };
}

/** CPU ticks (user + system, 1/100 s) and parent of every process, from /proc. */
async function processTicks(): Promise<Map<number, { ppid: number; ticks: number }>> {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const text = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => null);
    if (text === null) continue;
    // Fields after the command name (which may hold spaces): state ppid ... utime(14) stime(15).
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
  }
  return stats;
}

/**
 * CPU ms used so far by Vigil (`pid` and its descendants: the web processes of `vigil web`) and by
 * the Postgres backends of its connections (found by their application name).
 */
export async function cpuMs(
  pid: number,
  pool: { query: pg.Pool['query'] },
  applicationName: string,
): Promise<{ vigil: number; postgres: number }> {
  const { rows } = await pool.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
    [applicationName],
  );
  const backends = new Set(rows.map((row) => row.pid));
  const stats = await processTicks();
  const inTree = (p: number): boolean => p === pid || (p > 1 && inTree(stats.get(p)?.ppid ?? 0));
  let vigil = 0;
  let postgres = 0;
  for (const [p, stat] of stats) {
    if (inTree(p)) vigil += stat.ticks;
    if (backends.has(p)) postgres += stat.ticks;
  }
  return { vigil: vigil * 10, postgres: postgres * 10 };
}

/** Runs `bench` when its module is the one started (`npx tsx bench/<name>.ts`), exiting 0 or 1. */
export function runIfMain(moduleUrl: string, bench: () => Promise<unknown>): void {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return;
  bench().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/** The secrets every bench's Vigil is started with (made up: they only guard a local fake's Vigil). */
export const BENCH_TOKENS = {
  ingest: 'bench-ingest-token-0123456789',
  api: 'bench-api-token-0123456789abcdef',
  slackSigningSecret: 'bench-signing-secret',
} as const;

/** Vigil's settings for a bench against a fake Slack Web API at `apiUrl`: bench tokens, no ingest rate limit. */
export const slackBenchEnv = (apiUrl: string): Record<string, string> => ({
  VIGIL_INGEST_TOKEN: BENCH_TOKENS.ingest,
  VIGIL_API_TOKEN: BENCH_TOKENS.api,
  VIGIL_INGEST_RATE_LIMIT: '1000000',
  SLACK_BOT_TOKEN: 'xoxb-bench',
  SLACK_SIGNING_SECRET: BENCH_TOKENS.slackSigningSecret,
  SLACK_API_URL: apiUrl,
});
