import pg from 'pg';
import { TEST_DATABASE_URL } from '../test/helpers/harness.js';
import { fmt, get, post, runIfMain, startBenchVigil, summarize } from './lib.js';

const INGEST = 'bench-ingest-token-0123456789';
const API = 'bench-api-token-0123456789abcdef';
const INVESTIGATIONS = 10_000;

/**
 * `GET /api/investigations` over 10,000 investigations (each with alerts, entities and actions,
 * a fifth still waiting for approval), in a `vigil serve` process of its own: the first page,
 * the active view and an entity filter, one request at a time (target: first page p99 < 50 ms).
 */
export async function benchInvestigationList(): Promise<void> {
  const vigil = await startBenchVigil('list', {
    VIGIL_INGEST_TOKEN: INGEST,
    VIGIL_API_TOKEN: API,
    VIGIL_INGEST_RATE_LIMIT: '1000000',
  });
  const { id, schema } = vigil;
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const alerts = Array.from({ length: 500 }, (_, i) => ({
      title: `Bench trigger ${i}`,
      severity: 'high',
      source: 'bench',
      id: `${id}-${i}`,
    }));
    const answer = await post(`${vigil.url}/ingest/generic`, JSON.stringify({ alerts }), {
      authorization: `Bearer ${INGEST}`,
    });
    if (answer.status !== 202) throw new Error(`ingest answered ${answer.status}`);
    // Written straight to Postgres, a minute apart, with the card triggers off (nothing to post).
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query(`SET LOCAL search_path = ${schema}`);
    await client.query(
      `INSERT INTO investigations (status, trigger_alert_id, playbook, automation, started_by, started_by_key, created_at, updated_at)
       SELECT CASE WHEN i % 5 = 0 THEN 'pending_approval' ELSE 'remediated' END,
              (SELECT id FROM alerts ORDER BY number OFFSET (i % 500) LIMIT 1),
              '{}'::jsonb, 'semi', '{"kind":"system"}'::jsonb, 'system',
              date_trunc('milliseconds', now()) - make_interval(mins => i),
              date_trunc('milliseconds', now()) - make_interval(mins => i)
       FROM generate_series(1, $1::int) AS i`,
      [INVESTIGATIONS],
    );
    await client.query(
      `INSERT INTO investigation_alerts (investigation_id, alert_id, reason)
       SELECT id, trigger_alert_id, 'trigger' FROM investigations`,
    );
    await client.query(
      `INSERT INTO investigation_entities (investigation_id, kind, key, display_name, verdict)
       SELECT i.id, k.kind, i.number || '-' || k.kind, 'Entity ' || i.number, 'malicious'
       FROM investigations i, (VALUES ('user'), ('device')) AS k(kind)`,
    );
    await client.query(
      `INSERT INTO actions (investigation_id, kind, target_kind, target_key, target_display, reason, status,
         requested_by, requested_by_key)
       SELECT i.id, a.kind, a.target_kind, i.number || '-' || a.target_kind, 'target', 'bench',
              CASE WHEN i.status = 'pending_approval' THEN 'pending_approval' ELSE 'done' END,
              '{"kind":"system"}'::jsonb, 'system'
       FROM investigations i, (VALUES ('disable_user', 'user'), ('isolate_device', 'device')) AS a(kind, target_kind)`,
    );
    await client.query('COMMIT');
    await client.query(
      `ANALYZE ${schema}.investigations, ${schema}.actions, ${schema}.investigation_entities`,
    );

    console.log(
      `\n## Investigations list (vigil serve in its own process, ${INVESTIGATIONS} investigations)`,
    );
    const headers = { authorization: `Bearer ${API}` };
    // What is measured is a full page, with its counts.
    const first = (await (await fetch(`${vigil.url}/api/investigations`, { headers })).json()) as {
      investigations: { entityCount: number }[];
    };
    if (first.investigations.length !== 50 || first.investigations.some((item) => item.entityCount !== 2)) {
      throw new Error('the first page is not 50 investigations with their counts');
    }
    // Steady state: the server's JIT and Postgres's caches warmed first, as in a running install.
    for (let i = 0; i < 300; i += 1) await get(`${vigil.url}/api/investigations`, headers);
    for (const [name, query] of [
      ['first page (50)', ''],
      ['active view', '?status=active'],
      ['entity filter', '?entityKind=user&entityKey=5000-user'],
      ['tenth page', ''],
    ] as const) {
      let path = `/api/investigations${query}`;
      if (name === 'tenth page') {
        for (let page = 0; page < 9; page += 1) {
          const body = (await (await fetch(`${vigil.url}${path}`, { headers })).json()) as {
            nextCursor: string;
          };
          path = `/api/investigations?cursor=${body.nextCursor}`;
        }
      }
      const latencies: number[] = [];
      for (let i = 0; i < 300; i += 1) {
        const answer = await get(`${vigil.url}${path}`, headers);
        if (answer.status !== 200) throw new Error(`${path} answered ${answer.status}`);
        latencies.push(answer.ms);
      }
      const s = summarize(latencies);
      console.log(
        `GET /api/investigations ${name}: p50 ${fmt(s.p50)}, p99 ${fmt(s.p99)}, max ${fmt(s.max)}${name === 'first page (50)' ? ' (target p99 < 50 ms)' : ''}`,
      );
    }
  } finally {
    await client.end();
    await vigil.stop();
  }
}

runIfMain(import.meta.url, benchInvestigationList);
