import pg from 'pg';
import { TEST_DATABASE_URL } from '../test/helpers/harness.js';
import { closedLoop, fmt, openLoop, post, runIfMain, startBenchVigil, summarize } from './lib.js';

const TOKEN = 'bench-ingest-token-0123456789';

/** Plain parameterised single-row INSERTs into a table shaped like `alerts`, with `connections` clients. */
async function rawInsertBaseline(schema: string, connections: number, seconds: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: connections });
  await pool.query(`CREATE TABLE ${schema}.raw_alerts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), source text NOT NULL, fingerprint text NOT NULL, title text NOT NULL,
    description text NOT NULL, severity text NOT NULL, labels jsonb NOT NULL, first_seen_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
  const result = await closedLoop(connections, seconds, async (i) => {
    const started = performance.now();
    await pool.query(
      `INSERT INTO ${schema}.raw_alerts (source, fingerprint, title, description, severity, labels, first_seen_at, last_seen_at)
       VALUES ($1, $2, $3, $4, $5, $6, now(), now())`,
      [
        'bench',
        `raw-${i}`,
        `Raw alert ${i}`,
        'A benchmark alert',
        'high',
        JSON.stringify({ host: `h${i % 50}` }),
      ],
    );
    return { status: 200, ms: performance.now() - started };
  });
  await pool.end();
  return result.perSecond;
}

/**
 * Sustained ingest of single-alert POSTs over loopback into a Vigil process (`vigil serve`, so
 * the relay and the notify worker run too), beside a raw INSERT baseline measured in the same run.
 */
export async function benchIngest(): Promise<void> {
  const vigil = await startBenchVigil(
    'ingest',
    {
      VIGIL_INGEST_TOKEN: TOKEN,
      VIGIL_INGEST_RATE_LIMIT: '1000000',
      VIGIL_DB_POOL_SIZE: '16',
    },
    process.env.BENCH_ROLE ?? 'serve',
  );
  const { id, schema } = vigil;
  try {
    const url = `${vigil.url}/ingest/generic`;
    const headers = { authorization: `Bearer ${TOKEN}` };
    const send = (i: number) =>
      post(
        url,
        JSON.stringify({
          title: `Bench alert ${id}-${i}`,
          severity: 'high',
          source: 'bench',
          id: `${id}-${i}`,
          entities: [{ kind: 'device', id: `host-${i % 50}` }],
          labels: { host: `host-${i % 50}` },
        }),
        headers,
      );

    await closedLoop(16, 2, send); // warm-up: JIT, connections, plans
    console.log(
      '\n## Ingest (POST /ingest/generic, one alert per request, distinct fingerprints, vigil serve in its own process)',
    );
    for (const rate of [1000, 1500, 2000]) {
      const run = await openLoop(rate, 10, send);
      const s = summarize(run.latencies);
      console.log(
        `open loop ${rate}/s for 10 s: achieved ${run.achieved.toFixed(0)}/s, p50 ${fmt(s.p50)}, p99 ${fmt(s.p99)}, max ${fmt(s.max)}, errors ${run.errors}`,
      );
    }
    const closed = await closedLoop(64, 10, send);
    const cs = summarize(closed.latencies);
    console.log(
      `closed loop, 64 concurrent for 10 s: ${closed.perSecond.toFixed(0)} alerts/s, p50 ${fmt(cs.p50)}, p99 ${fmt(cs.p99)}, errors ${closed.errors}`,
    );

    const baseline = await rawInsertBaseline(schema, 16, 10);
    console.log(
      `raw baseline (pg, single-row INSERTs, 16 connections, 10 s): ${baseline.toFixed(0)} inserts/s`,
    );
    console.log(`ratio ingest/raw: ${(closed.perSecond / baseline).toFixed(2)}`);
  } finally {
    await vigil.stop();
  }
}

runIfMain(import.meta.url, benchIngest);
