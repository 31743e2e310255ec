import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startTestVigil, type TestVigil } from '../helpers/harness.js';

let vigil: TestVigil;

beforeAll(async () => {
  vigil = await startTestVigil();
});
afterAll(async () => {
  await vigil?.close();
});

const load = async (relative: string) => JSON.parse(await readFile(fixture(relative), 'utf8'));

async function post(format: string, body: unknown) {
  const response = await vigil.ingest(format, body);
  const answer = (await response.json()) as { alerts: Record<string, any>[]; error?: unknown };
  expect(response.status, JSON.stringify(answer)).toBe(202);
  return answer.alerts;
}

async function detail(id: string): Promise<Record<string, any>> {
  return (await (await vigil.api('GET', `/api/alerts/${id}`)).json()) as Record<string, any>;
}

const entityKeys = (alert: Record<string, any>) =>
  alert.entities.map((entity: { kind: string; key: string }) => `${entity.kind}:${entity.key}`).sort();

describe('each format, stored and mapped through HTTP', () => {
  it('Alertmanager: every alert of the group, then resolved by the source', async () => {
    const firing = await load('alerts/alertmanager/firing.3-alerts.grafana-oncall-test.json');
    const items = await post('alertmanager', firing);
    expect(items).toHaveLength(3);
    expect(items.every((item) => item.duplicate === false)).toBe(true);
    const first = await detail(items[0]?.id);
    expect(first).toMatchObject({ source: 'alertmanager', status: 'new' });
    expect(first.fingerprint).toMatch(/^alertmanager:/);

    const resolvedAlert = { ...firing.alerts[0], status: 'resolved', endsAt: '2026-11-23T09:00:00Z' };
    const resolved = await post('alertmanager', { ...firing, status: 'resolved', alerts: [resolvedAlert] });
    expect(resolved[0]).toMatchObject({ id: items[0]?.id, action: 'resolve', outcome: 'changed' });
    const after = await detail(items[0]?.id);
    expect(after.status).toBe('resolved');
    expect(after.statusChangedBy).toEqual({ kind: 'source', source: 'alertmanager' });
  });

  it('Alertmanager without fingerprints (older versions) and a resolved-only capture', async () => {
    const old = await load('alerts/alertmanager/firing.3-alerts.no-fingerprint.alertmonitor-capture.json');
    expect(await post('alertmanager', old)).toHaveLength(old.alerts.length);
    const resolvedOnly = await load('alerts/alertmanager/resolved.1-alert.pythonwebhook-capture.json');
    const [item] = await post('alertmanager', resolvedOnly);
    expect(item).toMatchObject({ id: null, outcome: 'no_open_alert' });
  });

  it('Microsoft Graph: device, file, process and registry evidence become entities', async () => {
    const [item] = await post(
      'graph',
      await load('alerts/graph-security/alert.mde-device-file-process-registry.docs.json'),
    );
    const alert = await detail(item?.id);
    expect(alert).toMatchObject({
      source: 'graph',
      severity: 'low',
      sourceId: 'da637578995287051192_756343937',
    });
    const kinds = new Set(alert.entities.map((entity: { kind: string }) => entity.kind));
    expect([...kinds].sort()).toEqual(expect.arrayContaining(['device', 'file', 'process', 'registry_key']));
  });

  it('Microsoft Graph: app governance OAuth evidence, and a re-sent resolved alert stays one alert', async () => {
    const appGovernance = await load(
      'alerts/graph-security/alert.app-governance-oauth-evidence.recorded-swimlane.json',
    );
    const [item] = await post('graph', appGovernance);
    const alert = await detail(item?.id);
    expect(entityKeys(alert)).toEqual(['oauth_application:29c9ea20-6466-4ddd-8f23-bcd0b9e74bbd']);
    expect(alert.policyName).toContain('App Governance');

    // Defender resolves it and Graph sends it again, twice: still one alert, resolved, classified.
    const resolved = {
      ...appGovernance,
      status: 'resolved',
      classification: 'truePositive',
      resolvedDateTime: new Date().toISOString(),
    };
    await post('graph', resolved);
    const again = await post('graph', resolved);
    expect(again[0]).toMatchObject({ id: alert.id, duplicate: true });
    expect(again[1]).toMatchObject({ action: 'resolve', outcome: 'no_open_alert' });
    const final = await detail(alert.id);
    expect(final).toMatchObject({ status: 'resolved', classification: 'true_positive', occurrenceCount: 3 });
    const all = await vigil.handle.db
      .selectFrom('alerts')
      .select('id')
      .where('fingerprint', '=', alert.fingerprint)
      .execute();
    expect(all).toHaveLength(1);
  });

  it('Microsoft Graph: a collection of user and IP evidence alerts', async () => {
    const mdca = await load('alerts/graph-security/alert.mdca-user-ip-evidence.sumologic-sample.json');
    const [item] = await post('graph', { value: [mdca] });
    expect(entityKeys(await detail(item?.id))).toEqual(['ip:111.90.159.147', 'user:mike@odata.com']);
  });

  it('Microsoft Graph: the legacy v1 alert shape is refused with a reason', async () => {
    const response = await vigil.ingest(
      'graph',
      await load('alerts/graph-security/legacy-alert-v1-NOT-alerts_v2.xsoar-test-data.json'),
    );
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain('alerts_v2');
  });

  it('Grafana: both alerts, with unicode and control characters kept readable', async () => {
    const items = await post('grafana', await load('alerts/grafana/webhook.firing-2-alerts.docs.json'));
    expect(items).toHaveLength(2);
    const unicode = await post(
      'grafana',
      await load('malformed/grafana.unicode-emoji-rtl-control-chars.HANDMADE.json'),
    );
    const alert = await detail(unicode[0]?.id);
    expect(alert.title).not.toContain('\u0000');
    expect(alert.source).toBe('grafana');
  });

  it('PagerDuty: trigger, acknowledge (In progress) and resolve by dedup_key', async () => {
    const trigger = await load('alerts/pagerduty/events-v2.trigger.openapi-example.json');
    const [created] = await post('pagerduty', trigger);
    const alert = await detail(created?.id);
    expect(alert).toMatchObject({ source: 'pagerduty', status: 'new' });
    expect(JSON.stringify(alert)).not.toContain(trigger.routing_key);
    const [acked] = await post('pagerduty', {
      routing_key: trigger.routing_key,
      event_action: 'acknowledge',
      dedup_key: trigger.dedup_key,
    });
    expect(acked).toMatchObject({ id: created?.id, action: 'start_progress', outcome: 'changed' });
    const [resolved] = await post('pagerduty', {
      routing_key: trigger.routing_key,
      event_action: 'resolve',
      dedup_key: trigger.dedup_key,
    });
    expect(resolved).toMatchObject({ id: created?.id, action: 'resolve', outcome: 'changed' });
    expect((await detail(created?.id)).status).toBe('resolved');
    // After resolve, a new trigger with the same key opens a new alert.
    const [reopened] = await post('pagerduty', {
      ...trigger,
      payload: { ...trigger.payload, timestamp: new Date(Date.now() + 1000).toISOString() },
    });
    expect(reopened?.id).not.toBe(created?.id);
  });

  it('Alertmanager markup and mention injection is stored verbatim, and a javascript: link is dropped', async () => {
    const injection = await load('malformed/alertmanager.markup-and-mention-injection.HANDMADE.json');
    // The fixture reuses the fingerprints of the firing fixture above; give it its own so it is not a duplicate.
    injection.alerts = injection.alerts.map((alert: Record<string, unknown>, i: number) => ({
      ...alert,
      fingerprint: `injection-${i}`,
    }));
    const [item] = await post('alertmanager', injection);
    const alert = await detail(item?.id);
    expect(alert.description).toContain('<!channel> <!here> <!everyone> <@U0LAN0Z89>');
    expect(alert.title).toBe('<script>alert(document.cookie)</script><img src=x onerror=alert(1)>');
    expect(alert.labels.alertname).toBe(
      '<script>alert(document.cookie)</script><img src=x onerror=alert(1)>',
    );
    expect(alert.links.every((link: { url: string }) => /^https?:/.test(link.url))).toBe(true);
  });
});
