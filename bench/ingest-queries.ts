import pg from 'pg';
import { eventually, startTestVigil, TEST_DATABASE_URL } from '../test/helpers/harness.js';
import { runIfMain } from './lib.js';

/**
 * Postgres round trips per alert, end to end: every query a Vigil connection sends (BEGIN and
 * COMMIT included) is counted by a hook on pg's Client, from the first POST until the outbox has
 * drained. `vigil web` alone (the ingest's share), then `vigil serve` with no chat platform (the
 * relay and the notify worker too). Alerts go 16 at a time, each with a distinct fingerprint and
 * one entity, as in bench/ingest-wrk.ts. Counts, not times: the figures do not depend on the load.
 */

const ALERTS = 2_000;
const CONCURRENCY = 16;

/** Counts the queries of connections whose search path is `schema` (Vigil's own, not the bench's). */
function countQueries(schema: string): { readonly count: () => number; restore(): void } {
  const original = pg.Client.prototype.query;
  let count = 0;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const options = (this as unknown as { connectionParameters: { options?: string } }).connectionParameters
      .options;
    if (options?.includes(`search_path=${schema},`)) count += 1;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  return {
    count: () => count,
    restore: () => {
      pg.Client.prototype.query = original;
    },
  };
}

async function queriesPerAlert(roles: { web: boolean; worker: boolean }): Promise<number> {
  const vigil = await startTestVigil({ roles: { web: true, worker: roles.worker } });
  const counter = countQueries(vigil.schema);
  const poll = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < ALERTS; i = next++) {
          const response = await vigil.ingest('generic', {
            title: `Query count ${i}`,
            severity: 'high',
            source: 'bench',
            id: `q-${i}`,
            entities: [{ kind: 'device', id: `host-${i % 50}` }],
          });
          if (response.status !== 202) throw new Error(`ingest answered ${response.status}`);
        }
      }),
    );
    if (roles.worker) {
      await eventually(
        async () => {
          // Through a connection of the bench's own, outside the count (Vigil's carry its search path).
          const { rows } = await poll.query(
            `SELECT id FROM "${vigil.schema}".outbox WHERE completed_at IS NULL AND failed_at IS NULL LIMIT 1`,
          );
          return rows.length === 0;
        },
        120_000,
        'the outbox drained',
      );
    }
    return counter.count() / ALERTS;
  } finally {
    counter.restore();
    await poll.end();
    await vigil.close();
  }
}

export async function benchIngestQueries(): Promise<void> {
  console.log(
    `\n## Postgres queries per alert (${ALERTS} alerts, ${CONCURRENCY} at a time, distinct fingerprints, no chat platform)`,
  );
  console.log(`vigil web (ingest only): ${(await queriesPerAlert({ web: true, worker: false })).toFixed(2)}`);
  console.log(
    `vigil serve (ingest, relay, notify; until the outbox drained): ${(await queriesPerAlert({ web: true, worker: true })).toFixed(2)}`,
  );
}

runIfMain(import.meta.url, benchIngestQueries);
