import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Every module that registers prepared statements, the web and worker roles' alike.
import '../../src/app.js';
import '../../src/worker-role.js';
import { type DbHandle, openDb, preparedStatements } from '../../src/storage/db.js';
import { migrate } from '../../src/storage/migrate.js';
import { dropSchema, TEST_DATABASE_URL } from '../helpers/harness.js';

// A named prepared statement keeps the generic plan Postgres made on its sixth run for as long as
// the connection lives (or until the next ANALYZE). Made while a table was still small, a plan that
// scans it looked cheapest, and went on scanning the whole table on every run once it had grown:
// under a storm on a fresh install every ingest batch read every alert. So each prepared statement's
// generic plan, made on an empty schema, must reach the tables that grow by index only.
const schema = `t_plans_${randomBytes(4).toString('hex')}`;
let handle: DbHandle;
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

beforeAll(async () => {
  handle = openDb({ url: TEST_DATABASE_URL, schema, poolSize: 2 });
  await handle.pool.query(`CREATE SCHEMA "${schema}"`);
  expect((await migrate(handle)).error).toBeUndefined();
  client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`SET search_path TO "${schema}"`);
  await client.query('SET plan_cache_mode = force_generic_plan');
});
afterAll(async () => {
  await client?.end();
  await handle?.close();
  await dropSchema(schema);
});

describe('prepared statements', () => {
  it('are registered (the list below is not empty by accident)', () => {
    expect(preparedStatements().map(([name]) => name)).toEqual(
      expect.arrayContaining(['vigil_ingest_context', 'vigil_store_occurrences', 'vigil_graph_lock_alerts']),
    );
  });

  it.each(preparedStatements())(
    '%s reaches growing tables by index, even planned on empty ones',
    async (name, text) => {
      const parameters = Math.max(0, ...[...text.matchAll(/\$(\d+)/g)].map((match) => Number(match[1])));
      await client.query(`PREPARE ${name} AS ${text}`);
      const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `EXPLAIN (FORMAT JSON) EXECUTE ${name}(${Array.from({ length: parameters }, () => 'NULL').join(', ')})`,
      );
      const plan = rows[0]?.['QUERY PLAN'][0].Plan as PlanNode;
      const wrong = [...scans(plan)].filter((scan) => {
        const table = scan['Relation Name'] as string;
        if (SMALL_TABLES.has(table)) return false;
        if (scan['Node Type'] === 'Seq Scan') return true;
        return (
          table === 'alerts' && scan['Index Name'] !== undefined && !ALERT_KEY_INDEXES.has(scan['Index Name'])
        );
      });
      expect(
        wrong.map((scan) => `${scan['Node Type']} on ${scan['Relation Name']} ${scan['Index Name'] ?? ''}`),
      ).toEqual([]);
    },
  );
});
