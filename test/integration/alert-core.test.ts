import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestVigil, type TestVigil } from '../helpers/harness.js';
import { personWithToken } from '../helpers/people.js';

let vigil: TestVigil;

beforeAll(async () => {
  vigil = await startTestVigil();
});
afterAll(async () => {
  await vigil?.close();
});

async function ingestOne(body: Record<string, unknown>) {
  const response = await vigil.ingest('generic', body);
  expect(response.status).toBe(202);
  const answer = (await response.json()) as {
    alerts: { id: string; number: string; duplicate: boolean; occurrenceCount: number }[];
  };
  return answer.alerts[0] as { id: string; number: string; duplicate: boolean; occurrenceCount: number };
}

describe('ingest to Postgres to notify', () => {
  it('stores an alert with its entities, audits it, and the notify job records a card', async () => {
    const stored = await ingestOne({
      title: 'Impossible travel for adele',
      severity: 'high',
      source: 'idp',
      id: 'core-1',
      entities: [
        { kind: 'user', id: 'adele@contoso.com', name: 'Adele Vance' },
        { kind: 'ip', id: '198.51.100.7' },
      ],
      labels: { team: 'identity' },
    });
    expect(stored.duplicate).toBe(false);

    const detail = (await (await vigil.api('GET', `/api/alerts/${stored.id}`)).json()) as Record<string, any>;
    expect(detail).toMatchObject({
      id: stored.id,
      status: 'new',
      severity: 'high',
      title: 'Impossible travel for adele',
      source: 'idp',
      occurrenceCount: 1,
      labels: { team: 'identity' },
    });
    expect(detail.entities.map((e: { kind: string; key: string }) => `${e.kind}:${e.key}`).sort()).toEqual([
      'ip:198.51.100.7',
      'user:adele@contoso.com',
    ]);
    expect(detail.audit).toEqual([
      expect.objectContaining({ action: 'alert.created', actorKey: 'source:idp' }),
    ]);

    // The outbox row is relayed to BullMQ and the notify worker records the card (`posting` until then).
    const card = await eventually(
      async () => {
        const cards = (
          (await (await vigil.api('GET', `/api/alerts/${stored.id}`)).json()) as Record<string, any>
        ).cards;
        return cards[0]?.messageRef == null ? undefined : cards[0];
      },
      20_000,
      'the card',
    );
    expect(card).toMatchObject({ platform: 'log', target: 'log', state: 'active' });
    // The job marks its outbox row done just after the card is recorded.
    await eventually(
      async () => {
        const outbox = await vigil.handle.db.selectFrom('outbox').selectAll().execute();
        return outbox.some((row) => row.payload.alertId === stored.id && row.completed_at !== null);
      },
      20_000,
      'the outbox row marked done',
    );
  });

  it('folds 50 concurrent POSTs with one fingerprint into one alert counted 50 times', async () => {
    const body = { title: 'Storm', fingerprint: 'storm-1', source: 'storm', severity: 'low' };
    const answers = await Promise.all(Array.from({ length: 50 }, () => vigil.ingest('generic', body)));
    expect(answers.map((r) => r.status)).toEqual(Array(50).fill(202));
    const items = await Promise.all(answers.map(async (r) => ((await r.json()) as any).alerts[0]));
    const ids = new Set(items.map((item: { id: string }) => item.id));
    expect(ids.size).toBe(1);
    expect(items.filter((item: { duplicate: boolean }) => !item.duplicate)).toHaveLength(1);
    const rows = await vigil.handle.db
      .selectFrom('alerts')
      .selectAll()
      .where('fingerprint', '=', 'storm:storm-1')
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.occurrence_count).toBe(50);
  });

  it('opens a new alert, pointing back, when a fingerprint fires again after Resolved', async () => {
    const body = { title: 'Refire', fingerprint: 'refire-1', source: 'refire' };
    const first = await ingestOne(body);
    const resolved = await vigil.api('POST', `/api/alerts/${first.id}/status`, {
      status: 'resolved',
      classification: 'true_positive',
    });
    expect(resolved.status).toBe(200);
    const second = await ingestOne(body);
    expect(second.id).not.toBe(first.id);
    expect(second.duplicate).toBe(false);
    const detail = (await (await vigil.api('GET', `/api/alerts/${second.id}`)).json()) as Record<
      string,
      unknown
    >;
    expect(detail.previousAlertId).toBe(first.id);
  });

  it('counts an occurrence that began before the resolution on the resolved alert, with new ones beside it', async () => {
    const late = { title: 'Late', fingerprint: 'late-1', source: 'late' };
    const first = await ingestOne(late);
    const before = new Date(Date.now() - 60_000).toISOString();
    expect(
      (
        await vigil.api('POST', `/api/alerts/${first.id}/status`, {
          status: 'resolved',
          classification: 'true_positive',
        })
      ).status,
    ).toBe(200);
    // One request, so one batch: the late occurrence and a new fingerprint are written together.
    const response = await vigil.ingest('generic', {
      alerts: [
        { ...late, occurredAt: before },
        { title: 'Fresh', fingerprint: 'late-2', source: 'late' },
      ],
    });
    expect(response.status).toBe(202);
    const [counted, fresh] = ((await response.json()) as any).alerts;
    expect(counted).toMatchObject({ id: first.id, duplicate: true });
    expect(fresh.duplicate).toBe(false);
    const detail = (await (await vigil.api('GET', `/api/alerts/${first.id}`)).json()) as Record<string, any>;
    expect(detail).toMatchObject({ status: 'resolved', occurrenceCount: 2 });
    expect(detail.audit.map((entry: { action: string }) => entry.action)).toContain('alert.occurred_again');
  });

  it('stores a batch larger than any prepared one (a Graph page size): every alert, its audit and card row', async () => {
    const response = await vigil.ingest('generic', {
      alerts: Array.from({ length: 600 }, (_, i) => ({
        title: `Page ${i}`,
        fingerprint: `page-${i}`,
        source: 'page',
      })),
    });
    expect(response.status).toBe(202);
    const { alerts } = (await response.json()) as { alerts: { id: string; duplicate: boolean }[] };
    expect(new Set(alerts.map((alert) => alert.id)).size).toBe(600);
    expect(alerts.every((alert) => !alert.duplicate)).toBe(true);
    const ids = alerts.map((alert) => alert.id);
    const audited = await vigil.handle.db
      .selectFrom('audit_log')
      .select('alert_id')
      .where('alert_id', 'in', ids)
      .where('action', '=', 'alert.created')
      .execute();
    expect(audited).toHaveLength(600);
    await eventually(async () => {
      const cards = await vigil.handle.db
        .selectFrom('cards')
        .select('id')
        .where('alert_id', 'in', ids)
        .execute();
      return cards.length === 600;
    }, 20_000);
  });

  it('lets the source resolve its own alert, with the source as actor', async () => {
    const stored = await ingestOne({ title: 'Flapping', fingerprint: 'flap-1', source: 'mon' });
    const response = await vigil.ingest('generic', {
      title: 'Flapping',
      fingerprint: 'flap-1',
      source: 'mon',
      status: 'resolved',
    });
    expect(response.status).toBe(202);
    expect(((await response.json()) as any).alerts[0]).toMatchObject({
      id: stored.id,
      action: 'resolve',
      outcome: 'changed',
    });
    const detail = (await (await vigil.api('GET', `/api/alerts/${stored.id}`)).json()) as Record<string, any>;
    expect(detail.status).toBe('resolved');
    expect(detail.statusChangedBy).toEqual({ kind: 'source', source: 'mon' });
  });
});

describe('status changes', () => {
  it('moves an alert New → In progress → Resolved → New, each audited with its actor', async () => {
    const { id } = await ingestOne({ title: 'Lifecycle', source: 'life' });
    const alice = await personWithToken(vigil, 'alice', 'responder');
    const post = (body: unknown) => vigil.api('POST', `/api/alerts/${id}/status`, body, alice.as);
    expect((await post({ status: 'in_progress' })).status).toBe(200);
    const missing = await post({ status: 'resolved' });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as any).error.code).toBe('alert.classification_required');
    const resolved = await post({ status: 'resolved', classification: 'false_positive', comment: 'scanner' });
    expect(((await resolved.json()) as any).alert).toMatchObject({
      status: 'resolved',
      classification: 'false_positive',
      resolutionComment: 'scanner',
    });
    expect((await post({ status: 'new' })).status).toBe(200);
    const audit = ((await (await vigil.api('GET', `/api/alerts/${id}`)).json()) as any).audit;
    expect(
      audit.map(
        (entry: { action: string; details: { to?: string } }) => `${entry.action}:${entry.details.to ?? ''}`,
      ),
    ).toEqual([
      'alert.created:',
      'alert.status_changed:in_progress',
      'alert.change_refused:',
      'alert.status_changed:resolved',
      'alert.status_changed:new',
    ]);
    // The person is named by their token alone.
    expect(audit[1].actor).toMatchObject({ platform: 'api', personId: alice.personId, name: 'alice' });
  });

  it('two concurrent changes of one version: one wins, the other gets a conflict, and the trail says so', async () => {
    const { id } = await ingestOne({ title: 'Race', source: 'race' });
    const [a, b] = await Promise.all([
      vigil.api('POST', `/api/alerts/${id}/status`, { status: 'in_progress', expectedVersion: 1 }),
      vigil.api('POST', `/api/alerts/${id}/status`, {
        status: 'resolved',
        classification: 'true_positive',
        expectedVersion: 1,
      }),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    expect(((await loser.json()) as any).error).toMatchObject({ code: 'alert.version_conflict' });
    const detail = (await (await vigil.api('GET', `/api/alerts/${id}`)).json()) as any;
    const changes = detail.audit.filter((entry: { action: string }) => entry.action !== 'alert.created');
    expect(changes.map((entry: { action: string }) => entry.action)).toEqual([
      'alert.status_changed',
      'alert.change_refused',
    ]);
    expect(changes[1].details.code).toBe('alert.version_conflict');
    expect(detail.version).toBe(2);
  });

  it('a double click changes state once', async () => {
    const { id } = await ingestOne({ title: 'Double', source: 'dbl' });
    const body = { status: 'in_progress', expectedVersion: 1 };
    const [a, b] = await Promise.all([
      vigil.api('POST', `/api/alerts/${id}/status`, body),
      vigil.api('POST', `/api/alerts/${id}/status`, body),
    ]);
    const changed = [((await a.json()) as any).changed, ((await b.json()) as any).changed].sort();
    expect(changed).toEqual([false, true]);
    const detail = (await (await vigil.api('GET', `/api/alerts/${id}`)).json()) as any;
    expect(
      detail.audit.filter((entry: { action: string }) => entry.action === 'alert.status_changed'),
    ).toHaveLength(1);
  });

  it('refuses a transition outside the lifecycle and an unknown alert', async () => {
    const { id } = await ingestOne({ title: 'Closed', source: 'closed' });
    await vigil.api('POST', `/api/alerts/${id}/status`, {
      status: 'resolved',
      classification: 'true_positive',
    });
    const response = await vigil.api('POST', `/api/alerts/${id}/status`, { status: 'in_progress' });
    expect(response.status).toBe(409);
    expect(((await response.json()) as any).error.code).toBe('alert.transition_not_allowed');
    const unknown = await vigil.api('POST', '/api/alerts/999999/status', { status: 'in_progress' });
    expect(unknown.status).toBe(404);
    const bad = await vigil.api('POST', `/api/alerts/${id}/status`, { status: 'done' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.issues[0].path).toBe('status');
  });
});

describe('listing', () => {
  it('filters by status, severity and source and pages with a cursor', async () => {
    for (let i = 0; i < 5; i += 1)
      await ingestOne({ title: `Page ${i}`, source: 'pager', severity: i % 2 ? 'critical' : 'low' });
    const critical = (await (
      await vigil.api('GET', '/api/alerts?source=pager&severity=critical')
    ).json()) as any;
    expect(critical.alerts).toHaveLength(2);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await (
        await vigil.api('GET', `/api/alerts?source=pager&limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      ).json()) as any;
      seen.push(...page.alerts.map((alert: { title: string }) => alert.title));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(['Page 4', 'Page 3', 'Page 2', 'Page 1', 'Page 0']);
    const bad = await vigil.api('GET', '/api/alerts?status=open');
    expect(bad.status).toBe(400);
  });

  it('refuses the API without its token', async () => {
    const response = await fetch(`${vigil.baseUrl}/api/alerts`);
    expect(response.status).toBe(401);
  });
});

describe('health', () => {
  it('answers liveness, readiness and metrics', async () => {
    expect((await fetch(`${vigil.baseUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${vigil.baseUrl}/readyz`);
    expect(await ready.json()).toEqual({ status: 'ready', postgres: true, redis: true });
    const metrics = await (await fetch(`${vigil.baseUrl}/metrics`)).text();
    expect(metrics).toContain('vigil_ingest_alerts_total{format="generic",duplicate="false"}');
    expect(metrics).toContain('vigil_outbox_unfinished');
  });
});
