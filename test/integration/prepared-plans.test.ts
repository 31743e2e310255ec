import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Every module that registers prepared statements, the web and worker roles' alike.
import '../../src/app.js';
import '../../src/worker-role.js';
import { CONCURRENT_INDEXES } from '../../src/storage/concurrent-indexes.js';
import { preparedStatements, sessionOptions } from '../../src/storage/db.js';
import { CLAIM_PLANNER_SETTING } from '../../src/storage/outbox.repository.js';
import { eventually, startTestVigil, TEST_DATABASE_URL, type TestVigil } from '../helpers/harness.js';

// A named prepared statement keeps the generic plan Postgres made on its sixth run for as long as
// the connection lives (or until the next ANALYZE). Made while a table was still small, a plan that
// scans it looked cheapest, and went on scanning the whole table on every run once it had grown:
// under a storm on a fresh install every ingest batch read every alert. So each prepared statement's
// generic plan, made on an empty schema, must reach the tables that grow by index only.
let vigil: TestVigil;
let client: pg.Client;

/** Tables of configuration, a few rows each: a scan of them is fine. */
const SMALL_TABLES = new Set(['policy_generation', 'investigation_rules']);
/** The indexes of `alerts` that find rows by key; the others list alerts by status or time. */
const ALERT_KEY_INDEXES = new Set(['alerts_pkey', 'alerts_fingerprint', 'alerts_open_fingerprint']);

interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Relation Name'?: string;
  readonly 'Index Name'?: string;
  readonly Plans?: readonly PlanNode[];
}

function* scans(node: PlanNode): Generator<PlanNode> {
  if (node['Relation Name'] !== undefined) yield node;
  for (const child of node.Plans ?? []) yield* scans(child);
}

/** The scans of the statement's generic plan that read a growing table other than by key. */
async function wrongScans(name: string, text: string): Promise<string[]> {
  const parameters = Math.max(0, ...[...text.matchAll(/\$(\d+)/g)].map((match) => Number(match[1])));
  // Planned as it runs: the notify claim under its own planner setting.
  await client.query(
    name === 'vigil_outbox_claim_done' ? `SET ${CLAIM_PLANNER_SETTING}` : 'RESET enable_bitmapscan',
  );
  await client.query(`PREPARE ${name} AS ${text}`);
  // A statement without parameters is executed without parentheses.
  const values = parameters === 0 ? '' : `(${Array.from({ length: parameters }, () => 'NULL').join(', ')})`;
  const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
    `EXPLAIN (FORMAT JSON) EXECUTE ${name}${values}`,
  );
  return [...scans(rows[0]?.['QUERY PLAN'][0].Plan as PlanNode)]
    .filter((scan) => {
      const table = scan['Relation Name'] as string;
      if (SMALL_TABLES.has(table)) return false;
      if (scan['Node Type'] === 'Seq Scan') return true;
      return (
        table === 'alerts' && scan['Index Name'] !== undefined && !ALERT_KEY_INDEXES.has(scan['Index Name'])
      );
    })
    .map((scan) => `${name}: ${scan['Node Type']} on ${scan['Relation Name']} ${scan['Index Name'] ?? ''}`);
}

beforeAll(async () => {
  vigil = await startTestVigil();
  // Building an index records the table's size as the planner's statistics: built after the alert
  // below, it would have the statements planned for a one-row table (a scan is right for that, until
  // the first ANALYZE). What is tested is the plan made before any statistics exist.
  await eventually(async () => {
    const { rows } = await sql<{ built: number }>`SELECT count(*)::int AS built FROM pg_indexes
      WHERE schemaname = ${vigil.schema} AND indexname IN (${sql.join(CONCURRENT_INDEXES.map((index) => index.name))})`.execute(
      vigil.handle.db,
    );
    return rows[0]?.built === CONCURRENT_INDEXES.length;
  });
  // One alert through ingest and its card, so the statements prepared on first use are known too.
  const response = await vigil.ingest('generic', { title: 'Plans', source: 'plans' });
  expect(response.status).toBe(202);
  await eventually(async () => {
    const card = await vigil.handle.db.selectFrom('cards').select('message_ref').executeTakeFirst();
    return card?.message_ref != null;
  });
  // A session as Vigil's own are.
  client = new pg.Client({ connectionString: TEST_DATABASE_URL, options: sessionOptions(vigil.schema) });
  await client.connect();
  await client.query('SET plan_cache_mode = force_generic_plan');
});
afterAll(async () => {
  await client?.end();
  await vigil?.close();
});

describe('prepared statements', () => {
  it('reach growing tables by index, even when planned while the tables were (nearly) empty', async () => {
    const statements = preparedStatements();
    expect(statements.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'vigil_ingest_context',
        'vigil_store_occurrences',
        'vigil_store_occurrences_checked',
        'vigil_graph_lock_alerts',
      ]),
    );
    const wrong: string[] = [];
    for (const [name, text] of statements) wrong.push(...(await wrongScans(name, text)));
    expect(wrong).toEqual([]);
  });
});
