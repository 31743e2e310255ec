import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { FakeJira } from '../test/fakes/jira.js';
import { TEST_DATABASE_URL } from '../test/helpers/harness.js';
import { memoryMb, post, runIfMain, startBenchVigil, type startVigilProcess } from './lib.js';

const INGEST_TOKEN = 'bench-ingest-token-0123456789';
const API_TOKEN = 'bench-api-token-0123456789abcdef';

/** `count` remediations written straight into `schema` with SQL (the API would take minutes), quoting and non-ASCII included. */
export async function seedRemediations(schema: string, count: number): Promise<void> {
  const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
  try {
    await pool.query(
      `
      INSERT INTO ${schema}.remediations (subject_kind, recommendation, devices, device_count, due_at, priority,
        notes, requester, requester_key, idempotency_key, created_at, updated_at)
      SELECT 'recommendation', 'Update component ' || i || ', "vendor" advisory — ünïcödé', '[]'::jsonb, 1 + i % 500,
        now() + interval '7 days', (ARRAY['low','medium','high','critical'])[1 + i % 4], '=notes ' || i,
        '{"kind":"user","platform":"api","id":"bench"}'::jsonb, 'api:bench', 'bench-' || i,
        date_trunc('milliseconds', now()) - make_interval(secs => i), now()
      FROM generate_series(1, $1::int) AS i`,
      [count],
    );
    await pool.query(`ANALYZE ${schema}.remediations`);
  } finally {
    await pool.end();
  }
}

async function withVigil<T>(
  env: Record<string, string>,
  role: string,
  run: (vigil: Awaited<ReturnType<typeof startVigilProcess>>, schema: string) => Promise<T>,
): Promise<T> {
  const vigil = await startBenchVigil(
    'remediation',
    {
      VIGIL_INGEST_TOKEN: INGEST_TOKEN,
      VIGIL_API_TOKEN: API_TOKEN,
      ...env,
    },
    role,
  );
  const { schema } = vigil;
  try {
    return await run(vigil, schema);
  } finally {
    await vigil.stop();
  }
}

/**
 * Exports 100,000 remediations as CSV from `vigil web` in its own process, reading the answer
 * over loopback, and samples the server's RSS meanwhile. Targets: under 3 s and 150 MB peak.
 */
export async function benchRemediationCsv(): Promise<void> {
  await withVigil({}, 'web', async (vigil, schema) => {
    await seedRemediations(schema, 100_000);
    const pid = vigil.child.pid as number;
    const before = memoryMb(pid, 'VmRSS');
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, memoryMb(pid, 'VmRSS'));
    }, 10);
    const started = performance.now();
    const { bytes, lines } = await new Promise<{ bytes: number; lines: number }>((resolve, reject) => {
      http
        .get(
          `${vigil.url}/api/remediations.csv?view=all`,
          { headers: { authorization: `Bearer ${API_TOKEN}` } },
          (res) => {
            let bytes = 0;
            let lines = 0;
            res.on('data', (chunk: Buffer) => {
              bytes += chunk.length;
              for (const byte of chunk) if (byte === 10) lines += 1;
            });
            res.on('end', () => resolve({ bytes, lines }));
            res.on('error', reject);
          },
        )
        .on('error', reject);
    });
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    console.log(
      '\n## Remediation CSV export (GET /api/remediations.csv, 100,000 rows, vigil web in its own process)',
    );
    console.log(
      `${lines - 1} rows, ${(bytes / 1024 / 1024).toFixed(1)} MiB in ${seconds.toFixed(2)} s (target < 3 s); ` +
        `server RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB (target < 150 MB)`,
    );
  });
}

/**
 * Tickets opened per second by `vigil serve` against the fake Jira answering every call in 50 ms
 * (a JQL lookup then a create per ticket), from 500 remediation requests posted at once.
 */
export async function benchTickets(): Promise<void> {
  const jira = await new FakeJira({
    email: 'bench@example.com',
    apiToken: 'bench-jira-token',
    projectKey: 'SEC',
    latencyMs: 50,
  }).start();
  const env = {
    VIGIL_TICKETING: 'jira',
    JIRA_BASE_URL: jira.url,
    JIRA_EMAIL: 'bench@example.com',
    JIRA_API_TOKEN: 'bench-jira-token',
    JIRA_PROJECT_KEY: 'SEC',
  };
  try {
    await withVigil(env, 'serve', async (vigil, schema) => {
      const total = 500;
      const due = new Date(Date.now() + 7 * 86_400_000).toISOString();
      const started = performance.now();
      let next = 0;
      // 32 senders post the requests back to back; the ticket workers start on them at once.
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          for (let i = next++; i < total; i = next++) {
            const answer = await post(
              `${vigil.url}/api/remediations`,
              JSON.stringify({ recommendation: `Bench ${i}`, devices: [`host-${i}`], dueAt: due }),
              { authorization: `Bearer ${API_TOKEN}` },
            );
            if (answer.status !== 201) throw new Error(`POST /api/remediations answered ${answer.status}`);
          }
        }),
      );
      const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
      let opened = 0;
      while (opened < total && performance.now() - started < 120_000) {
        const { rows } = await pool.query(
          `SELECT count(*)::int AS n FROM ${schema}.remediations WHERE external_id IS NOT NULL`,
        );
        opened = rows[0].n;
        if (opened < total) await sleep(50);
      }
      await pool.end();
      const seconds = (performance.now() - started) / 1000;
      console.log(
        '\n## Remediation tickets (vigil serve, fake Jira answering in 50 ms, JQL lookup + create)',
      );
      console.log(
        `${opened}/${total} tickets opened in ${seconds.toFixed(2)} s: ${(opened / seconds).toFixed(0)} tickets/s; ` +
          `Jira issues ${jira.issues.size} (one per remediation)`,
      );
    });
  } finally {
    await jira.stop();
  }
}

runIfMain(import.meta.url, async () => {
  await benchRemediationCsv();
  await benchTickets();
});
