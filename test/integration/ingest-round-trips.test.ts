import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestVigil, type TestVigil } from '../helpers/harness.js';

/**
 * What a batch costs in Postgres round trips: the ingest's throughput hangs on it (issue 16).
 * Only the web role runs, so every query counted is the ingest's own.
 */
let vigil: TestVigil;
const original = pg.Client.prototype.query;
let sent: string[] = [];

beforeAll(async () => {
  vigil = await startTestVigil({ roles: { web: true, worker: false } });
  const schema = vigil.schema;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const options = (this as unknown as { connectionParameters: { options?: string } }).connectionParameters
      .options;
    if (options?.includes(`search_path=${schema},`)) {
      const first = args[0] as string | { text: string };
      sent.push(typeof first === 'string' ? first : first.text);
    }
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  // The first batch of a process also reads the policies into their cache.
  expect((await vigil.ingest('generic', alerts('warm-up', 1))).status).toBe(202);
  sent = [];
});
afterEach(() => {
  sent = [];
});
afterAll(async () => {
  pg.Client.prototype.query = original;
  await vigil?.close();
});

function alerts(prefix: string, count: number) {
  return {
    alerts: Array.from({ length: count }, (_, i) => ({
      title: `Round trip ${prefix} ${i}`,
      severity: 'high',
      id: `${prefix}-${i}`,
      entities: [
        { kind: 'device', id: `host-${i}` },
        { kind: 'user', id: `user-${i}@example.com` },
      ],
      labels: { host: `host-${i}` },
    })),
  };
}

describe('ingest round trips', () => {
  it('stores a batch of new alerts with entities, audit and outbox rows in two queries', async () => {
    const response = await vigil.ingest('generic', alerts('new', 40));
    expect(response.status).toBe(202);
    // The batch's context, then one statement that writes everything (its own transaction).
    expect(sent).toHaveLength(2);

    const { rows } = await vigil.handle.pool.query<{ entities: string; audit: string; outbox: string }>(
      `WITH batch AS (SELECT id FROM alerts WHERE source_id LIKE 'new-%')
       SELECT (SELECT count(*) FROM alert_entities WHERE alert_id IN (SELECT id FROM batch)) AS entities,
              (SELECT count(*) FROM audit_log WHERE action = 'alert.created'
                AND alert_id IN (SELECT id FROM batch)) AS audit,
              (SELECT count(*) FROM outbox WHERE payload->>'alertId' IN (SELECT id::text FROM batch)) AS outbox`,
    );
    expect(rows[0]).toEqual({ entities: '80', audit: '40', outbox: '40' });
  });

  it('counts a batch of repeats on the open alerts in the same two queries', async () => {
    await vigil.ingest('generic', alerts('again', 10));
    sent = [];
    const response = await vigil.ingest('generic', alerts('again', 10));
    const answer = (await response.json()) as { alerts: { duplicate: boolean; occurrenceCount: number }[] };
    expect(answer.alerts.every((alert) => alert.duplicate && alert.occurrenceCount === 2)).toBe(true);
    expect(sent).toHaveLength(2);
  });
});
