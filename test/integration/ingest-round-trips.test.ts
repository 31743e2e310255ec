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
  it('stores a batch of new alerts with entities, audit and outbox rows in one query', async () => {
    const response = await vigil.ingest('generic', alerts('new', 40));
    expect(response.status).toBe(202);
    // One statement checks what the process knew of policies and investigations still holds, and
    // writes everything (its own transaction).
    expect(sent).toHaveLength(1);

    const { rows } = await vigil.handle.pool.query<{ entities: string; audit: string; outbox: string }>(
      `WITH batch AS (SELECT id FROM alerts WHERE source_id LIKE 'new-%')
       SELECT (SELECT count(*) FROM alert_entities WHERE alert_id IN (SELECT id FROM batch)) AS entities,
              (SELECT count(*) FROM audit_log WHERE action = 'alert.created'
                AND alert_id IN (SELECT id FROM batch)) AS audit,
              (SELECT count(*) FROM outbox WHERE payload->>'alertId' IN (SELECT id::text FROM batch)) AS outbox`,
    );
    expect(rows[0]).toEqual({ entities: '80', audit: '40', outbox: '40' });
  });

  it('counts a batch of repeats on the open alerts in the same one query', async () => {
    await vigil.ingest('generic', alerts('again', 10));
    sent = [];
    const response = await vigil.ingest('generic', alerts('again', 10));
    const answer = (await response.json()) as { alerts: { duplicate: boolean; occurrenceCount: number }[] };
    expect(answer.alerts.every((alert) => alert.duplicate && alert.occurrenceCount === 2)).toBe(true);
    expect(sent).toHaveLength(1);
  });

  it('applies a policy added since the last batch to the next alert', async () => {
    const policy = await vigil.api('POST', '/api/policies', {
      name: 'Round trip record',
      conditions: { sources: ['round-trip-policy'] },
      actions: [{ type: 'record' }],
    });
    expect(policy.status).toBe(201);
    const response = await vigil.ingest('generic', {
      title: 'After the policy',
      source: 'round-trip-policy',
    });
    expect(response.status).toBe(202);
    const { id } = ((await response.json()) as { alerts: { id: string }[] }).alerts[0] as { id: string };
    const alert = await vigil.handle.db
      .selectFrom('alerts')
      .select('vigil_policy_name')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(alert.vigil_policy_name).toBe('Round trip record');
  });

  it('starts an investigation by a rule added since the last batch, and the batch after needs no context read', async () => {
    const rule = await vigil.api('POST', '/api/investigation-rules', {
      name: 'Round trip rule',
      source: 'round-trip-rule',
      playbook: { name: 'Watchlist', steps: { default: [{ key: 'watchlist', provider: 'watchlist' }] } },
      automation: 'semi',
    });
    expect(rule.status).toBe(201);
    const investigated = async (source: string) => {
      const response = await vigil.ingest('generic', { title: `Rule ${source}`, source });
      expect(response.status).toBe(202);
      const { id } = ((await response.json()) as { alerts: { id: string }[] }).alerts[0] as { id: string };
      const { rows } = await vigil.handle.pool.query(
        'SELECT 1 FROM investigation_alerts WHERE alert_id = $1',
        [id],
      );
      return rows.length > 0;
    };
    expect(await investigated('round-trip-rule')).toBe(true);
    sent = [];
    expect(await investigated('round-trip-other')).toBe(false);
    // A transaction now (an enabled rule may start an investigation), but no context read before it.
    expect(sent.filter((text) => text.includes('unnest($1::text[])'))).toEqual([]);
  });
});
