import pg from 'pg';
import { FakeEnrichment } from '../test/fakes/enrichment.js';
import { FakeExecutor } from '../test/fakes/executor.js';
import { TEST_DATABASE_URL } from '../test/helpers/harness.js';
import { fmt, post, runIfMain, startBenchVigil, summarize } from './lib.js';

const INGEST = 'bench-ingest-token-0123456789';
const API = 'bench-api-token-0123456789abcdef';

/**
 * Investigations end to end in a `vigil serve` process of its own: (1) how many investigations
 * per minute finish a five-step playbook whose every step asks a fake enrichment service that
 * answers in 20 ms (target 600/min); (2) the time from an approve API call to the executor's
 * request (target p99 < 300 ms).
 */
export async function benchInvestigations(): Promise<void> {
  const enrichment = await new FakeEnrichment().start();
  enrichment.defaults = { verdict: 'clean', reason: 'nothing known', latencyMs: 20 };
  const executor = await new FakeExecutor().start();
  const vigil = await startBenchVigil(
    'investigations',
    {
      VIGIL_INGEST_TOKEN: INGEST,
      VIGIL_API_TOKEN: API,
      VIGIL_INGEST_RATE_LIMIT: '1000000',
      VIGIL_DB_POOL_SIZE: '24',
      VIGIL_EXECUTOR_WEBHOOK_URL: `${executor.url}/webhook`,
      VIGIL_EXECUTOR_WEBHOOK_SECRET: 'executor-secret-0123456789',
    },
    'serve',
  );
  const { id, schema } = vigil;
  const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  const headers = { authorization: `Bearer ${API}` };
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${vigil.url}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return (await response.json()) as any;
  };
  const count = async (where: string): Promise<number> =>
    Number((await pool.query(`SELECT count(*) AS n FROM ${schema}.investigations WHERE ${where}`)).rows[0].n);
  try {
    const step = (key: string) => ({
      key,
      provider: 'http',
      params: {
        url: `${enrichment.url}/lookup/{kind}/{key}`,
        kinds: ['device'],
        verdictField: 'data.verdict',
        retries: 0,
      },
    });
    await api('POST', '/api/investigation-rules', {
      name: 'bench',
      source: 'bench',
      playbook: { name: 'Five steps', steps: { default: ['s1', 's2', 's3', 's4', 's5'].map(step) } },
    });

    console.log('\n## Investigations (vigil serve in its own process, fake enrichment answering in 20 ms)');
    const total = 1_500;
    const started = performance.now();
    for (let batch = 0; batch < total / 250; batch += 1) {
      const alerts = Array.from({ length: 250 }, (_, i) => ({
        title: `Bench investigation ${batch}-${i}`,
        severity: 'high',
        source: 'bench',
        id: `${id}-${batch}-${i}`,
        entities: [{ kind: 'device', id: `host-${id}-${batch}-${i}` }],
      }));
      const answer = await post(`${vigil.url}/ingest/generic`, JSON.stringify({ alerts }), {
        authorization: `Bearer ${INGEST}`,
      });
      if (answer.status !== 202) throw new Error(`ingest answered ${answer.status}`);
    }
    for (;;) {
      const done = await count(`status NOT IN ('queued','running')`);
      if (done >= total) break;
      if (performance.now() - started > 300_000)
        throw new Error(`only ${done} of ${total} finished in 5 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const minutes = (performance.now() - started) / 60_000;
    const lookups = enrichment.calls.length;
    console.log(
      `${total} investigations, five steps each (${lookups} lookups): ${(total / minutes).toFixed(0)} investigations/min (target 600/min), ${(minutes * 60).toFixed(1)} s`,
    );

    // Approvals: actions waiting for a person, approved one by one through the API.
    enrichment.defaults = { verdict: 'malicious', reason: 'bench', latencyMs: 0 };
    await api('POST', '/api/investigation-rules', {
      name: 'bench-act',
      source: 'bench-act',
      playbook: { name: 'One step', steps: { default: [step('s1')] } },
    });
    const approvals = 300;
    const alerts = Array.from({ length: approvals }, (_, i) => ({
      title: `Bench action ${i}`,
      severity: 'high',
      source: 'bench-act',
      id: `${id}-act-${i}`,
      entities: [{ kind: 'device', id: `act-${id}-${i}` }],
    }));
    await post(`${vigil.url}/ingest/generic`, JSON.stringify({ alerts }), {
      authorization: `Bearer ${INGEST}`,
    });
    let pending: any[] = [];
    for (let waited = 0; pending.length < approvals && waited < 600; waited += 1) {
      pending = (await api('GET', `/api/actions?limit=500`)).actions;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const latencies: number[] = [];
    const queue = [...pending];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let action = queue.shift(); action !== undefined; action = queue.shift()) {
          const key = `vigil-action-${action.id}`;
          const t0 = performance.now();
          const called = executor.nextCall((call) => call.idempotencyKey === key);
          await post(`${vigil.url}/api/actions/${action.id}/approve`, '{}', headers);
          await called;
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const s = summarize(latencies);
    console.log(
      `approve API call to executor request, ${latencies.length} approvals, 4 at a time: p50 ${fmt(s.p50)}, p99 ${fmt(s.p99)}, max ${fmt(s.max)} (target p99 < 300 ms)`,
    );
  } finally {
    await pool.end();
    await vigil.stop();
    await enrichment.stop();
    await executor.stop();
  }
}

runIfMain(import.meta.url, benchInvestigations);
