import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { alertmanagerFormat, labelSeverity } from '../../src/bot/http/ingest/alertmanager.js';
import { canonicalLabels, fingerprintOf, type IngestFormat } from '../../src/bot/http/ingest/format.js';
import { grafanaFormat } from '../../src/bot/http/ingest/grafana.js';
import { graphClassification, graphFormat, graphSeverity } from '../../src/bot/http/ingest/graph.js';
import { eventTime, pagerdutyFormat } from '../../src/bot/http/ingest/pagerduty.js';
import type { AlertDraft, IngestEvent } from '../../src/domain/index.js';

/**
 * Real payloads from test/fixtures (see its SOURCES.md) through each format's schema and
 * mapping, the way the ingest route uses them.
 */

const RECEIVED = new Date('2026-11-23T10:00:00Z');

/** The fixtures are copied into the repository (test/fixtures, sources in its SOURCES.md). */
function fixture<T = Record<string, unknown>>(path: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8')) as T;
}

function accept<S extends z.ZodType>(
  format: IngestFormat<S>,
  body: unknown,
): { payload: z.output<S>; events: IngestEvent[] } {
  const result = format.schema.safeParse(body);
  if (!result.success)
    throw new Error(`${format.name} rejected the payload: ${JSON.stringify(result.error.issues)}`);
  return { payload: result.data, events: format.toEvents(result.data, RECEIVED) };
}

/** The failing fields as the route reports them: dotted paths and messages. */
function reject(format: IngestFormat, body: unknown): { path: string; message: string }[] {
  const result = format.schema.safeParse(body);
  if (result.success) throw new Error(`${format.name} accepted a payload it should refuse`);
  return result.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

const drafts = (events: readonly IngestEvent[]): AlertDraft[] =>
  events.flatMap((event) => (event.kind === 'occurrence' ? [event.draft] : []));

function only<T>(items: readonly T[]): T {
  expect(items).toHaveLength(1);
  return items[0] as T;
}

interface WebhookBody {
  status: string;
  version?: string;
  receiver?: string;
  externalURL?: string;
  alerts: {
    status: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt?: string;
    endsAt?: string;
    fingerprint?: string;
    generatorURL?: string;
    dashboardURL?: string;
    [key: string]: unknown;
  }[];
  [key: string]: unknown;
}

/** The same group, every alert resolved at `endsAt`. */
function resolvedCopy(body: WebhookBody, endsAt = '2026-11-23T09:30:00Z'): WebhookBody {
  const copy = structuredClone(body);
  copy.status = 'resolved';
  for (const alert of copy.alerts) {
    alert.status = 'resolved';
    alert.endsAt = endsAt;
  }
  return copy;
}

describe('alertmanager format', () => {
  const oncall = fixture<WebhookBody>('alerts/alertmanager/firing.3-alerts.grafana-oncall-test.json');
  const legacy = fixture<WebhookBody>(
    'alerts/alertmanager/firing.3-alerts.no-fingerprint.alertmonitor-capture.json',
  );
  const resolved = fixture<WebhookBody>('alerts/alertmanager/resolved.1-alert.pythonwebhook-capture.json');

  it('maps each alert of a group to its own occurrence', () => {
    const { payload, events } = accept(alertmanagerFormat, oncall);
    expect(events.map((event) => event.kind)).toEqual(['occurrence', 'occurrence', 'occurrence']);
    const [first, second, third] = drafts(events);
    expect(drafts(events).map((draft) => draft.title)).toEqual([
      'Instance localhost:8081 down',
      'Instance localhost:8082 down',
      'Instance localhost:8083 down',
    ]);
    expect(first?.fingerprint).toBe('alertmanager:f404ecabc8dd5cd7');
    expect(second?.fingerprint).toBe('alertmanager:f8f08d4e32c61a9d');
    expect(third?.sourceId).toBe('39f38c0611ee7abd');
    expect(first?.severity).toBe('critical');
    expect(first?.description).toBe('localhost:8081 of job node has been down for more than 1 minute.');
    expect(first?.occurredAt.toISOString()).toBe('2023-06-12T08:24:38.326Z');
    expect(first?.labels).toEqual(oncall.alerts[0]?.labels);
    expect(first?.policyName).toBe('InstanceDown');
    // Empty generatorURL and externalURL: no link rather than a broken one.
    expect(first?.links).toEqual([]);
    expect(first?.entities).toEqual([
      {
        kind: 'device',
        key: 'localhost',
        displayName: 'localhost',
        roles: [],
        attributes: { label: 'instance', value: 'localhost:8081' },
      },
    ]);
    // Non-standard group fields (numFiring, numResolved) are accepted and dropped.
    expect('numFiring' in payload).toBe(false);
  });

  it('fingerprints alerts from an Alertmanager without `fingerprint` by their label set', () => {
    const { events } = accept(alertmanagerFormat, legacy);
    const all = drafts(events);
    expect(all).toHaveLength(3);
    expect(all.map((draft) => draft.fingerprint)).toEqual(
      legacy.alerts.map((alert) => fingerprintOf('alertmanager', canonicalLabels(alert.labels))),
    );
    expect(new Set(all.map((draft) => draft.fingerprint)).size).toBe(3);
    expect(all[0]?.fingerprint).toMatch(/^alertmanager:[0-9a-f]{32}$/);
    expect(all[0]?.sourceId).toBeNull();
    // No summary annotation (the capture has `summary` as a label): the alert name is the title.
    expect(all[0]?.title).toBe('ICMP ping failed');
    expect(all[0]?.severity).toBe('high'); // "major"
    expect(all[0]?.entities.map((entity) => [entity.kind, entity.key])).toEqual([
      ['device', '172.29.254.30'],
    ]);
    // externalURL "http://:9093" is not a URL: no silence link; the Prometheus link survives.
    expect(all[0]?.links).toEqual([
      {
        title: 'Source',
        url: 'http://9ed35ff90bf8:9090/graph?g0.expr=probe_success%7Bjob%3D%22blackbox-icmp%22%7D+%3D%3D+0&g0.tab=1',
      },
    ]);
  });

  it('gives the firing and the resolved notice of one alert the same fingerprint, with or without `fingerprint`', () => {
    for (const body of [oncall, legacy]) {
      const firing = drafts(accept(alertmanagerFormat, body).events).map((draft) => draft.fingerprint);
      const later = accept(alertmanagerFormat, resolvedCopy(body)).events;
      expect(later.map((event) => (event.kind === 'source_status' ? event.fingerprint : null))).toEqual(
        firing,
      );
    }
    // Label order does not matter to the label hash.
    const reordered = structuredClone(legacy);
    for (const alert of reordered.alerts)
      alert.labels = Object.fromEntries(Object.entries(alert.labels).reverse());
    expect(drafts(accept(alertmanagerFormat, reordered).events).map((draft) => draft.fingerprint)).toEqual(
      drafts(accept(alertmanagerFormat, legacy).events).map((draft) => draft.fingerprint),
    );
  });

  it('maps a resolved alert to a source resolve at its endsAt', () => {
    const { events } = accept(alertmanagerFormat, resolved);
    expect(events).toEqual([
      {
        kind: 'source_status',
        source: 'alertmanager',
        fingerprint: 'alertmanager:fbab788ec4c1018b',
        action: 'resolve',
        at: new Date('2022-07-29T11:17:27.300Z'),
      },
    ]);
    // A resolved notice whose endsAt is the zero time resolves at receipt, not in year 1.
    const zero = accept(alertmanagerFormat, resolvedCopy(resolved, '0001-01-01T00:00:00Z')).events[0];
    expect(zero?.kind === 'source_status' && zero.at).toEqual(RECEIVED);
  });

  it('drops relative links, builds a silence link, and reads severity case-insensitively', () => {
    const firing = structuredClone(resolved);
    firing.status = 'firing';
    for (const alert of firing.alerts) alert.status = 'firing';
    const draft = only(drafts(accept(alertmanagerFormat, firing).events));
    expect(draft.title).toBe('Kubernetes Deployment Replicas Mismatch');
    expect(draft.severity).toBe('medium'); // "Warning"
    // namespace/deployment labels are not entities; the instance is a device without its port.
    expect(draft.entities.map((entity) => [entity.kind, entity.key])).toEqual([['device', '192.168.69.53']]);
    expect(draft.links.map((link) => link.title)).toEqual(['Silence']); // the relative generatorURL is gone
    const silence = draft.links[0]?.url ?? '';
    expect(silence.startsWith('http://localhost:9093/#/silences/new?filter=')).toBe(true);
    const filter = decodeURIComponent(silence.slice(silence.indexOf('filter=') + 'filter='.length));
    expect(filter).toContain('alertname="Deployment"');
    expect(filter).toContain('namespace="eric-eo-cm-ci406"');
  });

  it('keeps markup verbatim for renderers to escape, and drops a javascript: generatorURL', () => {
    const draft = only(
      drafts(
        accept(
          alertmanagerFormat,
          fixture('malformed/alertmanager.markup-and-mention-injection.HANDMADE.json'),
        ).events,
      ),
    );
    expect(draft.title).toBe('<script>alert(document.cookie)</script><img src=x onerror=alert(1)>');
    expect(draft.description.startsWith('<!channel> <!here>')).toBe(true);
    expect(draft.links).toEqual([]);
  });

  it('derives user and IP entities from well-known labels, never pods or namespaces', () => {
    const body = structuredClone(oncall);
    body.alerts = [
      {
        status: 'firing',
        labels: {
          alertname: 'SuspiciousLogin',
          username: 'Alice@Example.com',
          src_ip: '203.0.113.9',
          ip: 'not-an-ip',
          pod: 'api-7d9f',
          namespace: 'prod',
          node: 'Worker-1.example.com',
          category: 'Credential Access',
        },
        annotations: {},
      },
    ];
    const draft = only(drafts(accept(alertmanagerFormat, body).events));
    expect(draft.entities.map((entity) => [entity.kind, entity.key])).toEqual([
      ['device', 'worker-1.example.com'],
      ['user', 'alice@example.com'],
      ['ip', '203.0.113.9'],
    ]);
    expect(draft.category).toBe('Credential Access');
    expect(draft.severity).toBe('medium'); // no severity label
  });

  it('maps severity words to Vigil severities', () => {
    expect(
      [
        'CRITICAL',
        'error',
        'major',
        'Warning',
        'minor',
        'info',
        'none',
        'bogus',
        'constructor',
        undefined,
      ].map(labelSeverity),
    ).toEqual([
      'critical',
      'high',
      'high',
      'medium',
      'low',
      'informational',
      'informational',
      'medium',
      'medium',
      'medium',
    ]);
  });

  it('rejects a payload without status and alerts, naming each field', () => {
    const issues = reject(
      alertmanagerFormat,
      fixture('malformed/alertmanager.missing-required-fields.HANDMADE.json'),
    );
    expect(issues.map((issue) => issue.path).sort()).toEqual(['alerts', 'status', 'version']);
  });

  it('reports the path of a bad field inside an alert', () => {
    const body = structuredClone(oncall) as unknown as { alerts: Record<string, unknown>[] };
    (body.alerts[0] as Record<string, unknown>).labels = 'severity=critical';
    (body.alerts[1] as Record<string, unknown>).status = 'pending';
    (body.alerts[2] as Record<string, unknown>).labels = { severity: 5 };
    expect(reject(alertmanagerFormat, body).map((issue) => issue.path)).toEqual([
      'alerts.0.labels',
      'alerts.1.status',
      'alerts.2.labels.severity',
    ]);
  });

  it('refuses a Grafana (version "1") payload and says where it belongs', () => {
    const issues = reject(alertmanagerFormat, fixture('alerts/grafana/webhook.firing-2-alerts.docs.json'));
    expect(issues).toEqual([{ path: 'version', message: expect.stringContaining('/ingest/grafana') }]);
  });
});

describe('grafana format', () => {
  const docs = fixture<WebhookBody>('alerts/grafana/webhook.firing-2-alerts.docs.json');

  it('maps the documented webhook: two alerts, their links and offsets', () => {
    const { events } = accept(grafanaFormat, docs);
    const [memory, cpu] = drafts(events);
    expect(events).toHaveLength(2);
    expect(memory?.title).toBe('This alert was triggered for zone us-1');
    expect(cpu?.title).toBe('This alert was triggered for zone eu-1');
    expect(memory?.description).toBe('The system has high memory usage');
    expect(memory?.fingerprint).toBe('grafana:c6eadffa33fcdf37');
    expect(cpu?.fingerprint).toBe('grafana:bc97ff14869b13e3');
    expect(memory?.source).toBe('grafana');
    expect(memory?.occurredAt.toISOString()).toBe('2021-10-12T07:51:03.157Z'); // +02:00 in the payload
    // Empty dashboard and panel URLs are dropped; the runbook annotation becomes a link.
    expect(memory?.links).toEqual([
      { title: 'Alert rule', url: 'https://play.grafana.org/alerting/1afz29v7z/edit' },
      {
        title: 'Silence',
        url: 'https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1',
      },
      { title: 'Runbook', url: 'https://myrunbook.com/runbook/1234' },
    ]);
    expect(memory?.raw).toMatchObject({ values: { B: 44.23943737541908, C: 1 } });
  });

  it('resolves with the fingerprint it fired with, label hash included', () => {
    const noFingerprint = structuredClone(docs);
    for (const alert of noFingerprint.alerts) delete alert.fingerprint;
    for (const body of [docs, noFingerprint]) {
      const firing = drafts(accept(grafanaFormat, body).events).map((draft) => draft.fingerprint);
      const later = accept(grafanaFormat, resolvedCopy(body)).events;
      expect(later.map((event) => event.kind === 'source_status' && event.action)).toEqual([
        'resolve',
        'resolve',
      ]);
      expect(later.map((event) => (event.kind === 'source_status' ? event.fingerprint : null))).toEqual(
        firing,
      );
    }
    expect(drafts(accept(grafanaFormat, noFingerprint).events)[0]?.fingerprint).toBe(
      fingerprintOf('grafana', canonicalLabels(docs.alerts[0]?.labels ?? {})),
    );
  });

  it('drops a javascript: dashboard URL', () => {
    const body = structuredClone(docs);
    for (const alert of body.alerts) alert.dashboardURL = 'javascript:alert(1)';
    const links = drafts(accept(grafanaFormat, body).events)[0]?.links ?? [];
    expect(links.map((link) => link.title)).toEqual(['Alert rule', 'Silence', 'Runbook']);
  });

  it('accepts emoji, RTL, control characters and a lone surrogate, cleaning only what storage cannot hold', () => {
    const body = fixture<WebhookBody>('malformed/grafana.unicode-emoji-rtl-control-chars.HANDMADE.json');
    const lone = body.alerts[0]?.annotations.lone_surrogate ?? '';
    expect(lone.isWellFormed()).toBe(false); // the fixture really carries an unpaired surrogate
    const draft = only(drafts(accept(grafanaFormat, body).events));
    expect(draft.title).not.toContain('\u0000');
    expect(draft.title).toContain('NUL: | bell:\u0007 | CRLF:\r\n');
    expect(draft.title).toContain('\u202E gnp.exe');
    expect(draft.labels.alertname).toBe(body.alerts[0]?.labels.alertname);
    expect(draft.labels.zone).toBe('日本-東京-1');
    const raw = draft.raw as { annotations: Record<string, string> };
    expect(raw.annotations.lone_surrogate).toBe('\uFFFD (unpaired high surrogate)');
    expect(JSON.stringify(draft.raw).isWellFormed()).toBe(true);
  });

  it('reports the path of bad labels', () => {
    const body = structuredClone(docs) as unknown as { alerts: Record<string, unknown>[] };
    (body.alerts[1] as Record<string, unknown>).labels = ['team=blue'];
    expect(reject(grafanaFormat, body).map((issue) => issue.path)).toEqual(['alerts.1.labels']);
  });
});

interface GraphBody {
  id: string;
  status: string;
  severity: string;
  classification?: string;
  resolvedDateTime?: string | null;
  lastUpdateDateTime?: string;
  alertWebUrl?: string;
  incidentId?: string | number;
  evidence?: Record<string, unknown>[];
  [key: string]: unknown;
}

describe('graph format', () => {
  const mde = fixture<GraphBody>('alerts/graph-security/alert.mde-device-file-process-registry.docs.json');
  const mdca = fixture<GraphBody>('alerts/graph-security/alert.mdca-user-ip-evidence.sumologic-sample.json');
  const appGovernance = fixture<GraphBody>(
    'alerts/graph-security/alert.app-governance-oauth-evidence.recorded-swimlane.json',
  );

  it('maps a Defender for Endpoint alert and its device, file, process and registry evidence', () => {
    const { events } = accept(graphFormat, mde);
    const draft = only(drafts(events));
    expect(events).toHaveLength(1); // status new: the occurrence only
    expect(draft.title).toBe('Suspicious execution of hidden file');
    expect(draft.severity).toBe('low');
    expect(draft.fingerprint).toBe('graph:da637578995287051192_756343937');
    expect(draft.sourceId).toBe('da637578995287051192_756343937');
    expect(draft.category).toBe('DefenseEvasion');
    expect(draft.determination).toBe('unknown');
    expect(draft.occurredAt.toISOString()).toBe('2021-04-26T07:45:50.116Z'); // firstActivityDateTime
    expect(draft.entities.map((entity) => [entity.kind, entity.key])).toEqual([
      ['device', 'tempdns'],
      ['file', '8963a19fb992ad9a76576c5638fd68292cffb9aaac29eb8285f9abf6196a7dec'],
      ['process', '4780:MsSense.exe'],
      [
        'registry_key',
        'hkey_local_machine\\system\\controlset001\\control\\wmi\\autologger\\senseauditlogger',
      ],
    ]);
    const [device, file] = draft.entities;
    expect(device?.displayName).toBe('tempDns');
    expect(device?.roles).toEqual(['compromised']);
    expect(device?.attributes).toMatchObject({
      odataType: '#microsoft.graph.security.deviceEvidence',
      mdeDeviceId: '73e7e2de709dff64ef64b1d0c30e67fab63279db',
      verdict: 'unknown',
      remediationStatus: 'none',
    });
    expect(file?.displayName).toBe('MsSense.exe');
    expect(draft.labels).toEqual({
      serviceSource: 'microsoftDefenderForEndpoint',
      detectionSource: 'antivirus',
      tenantId: 'b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c',
      incidentId: '28282',
      mitreTechniques: 'T1564.001',
    });
    expect(draft.links.map((link) => link.title)).toEqual(['Microsoft Defender', 'Incident']);
    expect(draft.policyName).toBe('microsoftDefenderForEndpoint: e0da400f-affd-43ef-b1d5-afc2eb6f2756');
    // Microsoft's own mojibake (U+FFFD) survives in the stored payload.
    expect((draft.raw as { recommendedActions: string }).recommendedActions).toContain(
      '\uFFFD\tReview the machine',
    );
  });

  it('maps Defender for Cloud Apps user and IP evidence, benignPositive and unreadable dates', () => {
    const draft = only(drafts(accept(graphFormat, mdca).events));
    expect(draft.entities.map((entity) => [entity.kind, entity.key, entity.roles])).toEqual([
      ['user', 'mike@odata.com', ['compromised']],
      ['ip', '111.90.159.147', []],
    ]);
    expect(draft.entities[1]?.attributes).toMatchObject({ verdict: 'malicious', countryLetterCode: 'US' });
    expect(draft.determination).toBe('securityPersonnel');
    // `2025-09-18T15:07:30+0530913Z` is no date: the time of receipt stands in.
    expect(draft.occurredAt).toEqual(RECEIVED);
    expect(draft.policyName).toBe('microsoftDefenderForCloudApps: AnomalousToken');
  });

  it('maps an app governance alert with OAuth application evidence', () => {
    const { events } = accept(graphFormat, appGovernance);
    const draft = only(drafts(events));
    expect(draft.title).toBe('Dormant OAuth App with no recent MS Graph activity');
    expect(draft.severity).toBe('medium');
    expect(draft.labels).toMatchObject({
      serviceSource: 'microsoftAppGovernance',
      productName: 'App Governance',
      incidentId: '563',
      mitreTechniques: 'T1078,T1078.004',
    });
    expect(draft.determination).toBeNull();
    expect(draft.policyName).toBe('App Governance: b62ae531-7aa6-4bc8-91b9-49a9be960145');
    expect(draft.policyUrl).toBe(appGovernance.alertWebUrl);
    // HTML and CRLF are kept verbatim.
    expect(draft.description).toContain(
      'tenant.\r\n<a href="https://security.microsoft.com//app?oauthAppId=',
    );
    const app = only(draft.entities);
    expect(app).toEqual({
      kind: 'oauth_application',
      key: '29c9ea20-6466-4ddd-8f23-bcd0b9e74bbd',
      displayName: 'WindowsDefenderATPSiemConnector',
      roles: [],
      attributes: expect.objectContaining({
        odataType: '#microsoft.graph.security.oauthApplicationEvidence',
        appId: '29c9ea20-6466-4ddd-8f23-bcd0b9e74bbd',
        objectId: null,
        publisher: null,
        verdict: 'unknown',
      }),
    });
    expect(draft.links[1]).toEqual({ title: 'Incident', url: appGovernance.incidentWebUrl });
  });

  it('follows the occurrence with the source status of an alert already in progress or resolved', () => {
    const inProgress = { ...mde, status: 'inProgress', lastUpdateDateTime: '2026-11-20T08:00:00Z' };
    expect(accept(graphFormat, inProgress).events.map((event) => event.kind)).toEqual([
      'occurrence',
      'source_status',
    ]);
    expect(accept(graphFormat, inProgress).events[1]).toEqual({
      kind: 'source_status',
      source: 'graph',
      fingerprint: 'graph:da637578995287051192_756343937',
      action: 'start_progress',
      at: new Date('2026-11-20T08:00:00Z'),
    });
    const done = { ...mdca, status: 'resolved', resolvedDateTime: '2026-11-21T12:00:00Z' };
    expect(accept(graphFormat, done).events[1]).toEqual({
      kind: 'source_status',
      source: 'graph',
      fingerprint: 'graph:adda21de253ca551df2175818825088751ac4ed5e365dae35a1a',
      action: 'resolve',
      at: new Date('2026-11-21T12:00:00Z'),
      // Graph's verdict rides with the resolve, in Vigil's words (benignPositive is expected activity).
      classification: 'informational_expected_activity',
    });
    expect(
      accept(graphFormat, { ...mde, status: 'unknownFutureValue' }).events.map((event) => event.kind),
    ).toEqual(['occurrence']);
  });

  it('treats enums as open', () => {
    expect(graphSeverity('unknownFutureValue')).toBe('medium');
    expect(graphSeverity('unknown')).toBe('medium');
    expect(graphSeverity('High')).toBe('high');
    expect(graphSeverity('informational')).toBe('informational');
    expect(graphClassification('benignPositive')).toBe('informational_expected_activity');
    expect(graphClassification('falsePositive')).toBe('false_positive');
    expect(graphClassification('unknownFutureValue')).toBeNull();
    const odd = {
      ...mde,
      severity: 'unknownFutureValue',
      classification: 'somethingNew',
      status: 'brandNewStatus',
    };
    const draft = only(drafts(accept(graphFormat, odd).events));
    expect(draft.severity).toBe('medium');
    const resolvedOdd = accept(graphFormat, { ...odd, status: 'resolved' }).events[1];
    expect(resolvedOdd).toMatchObject({
      kind: 'source_status',
      action: 'resolve',
      classification: undefined,
    });
  });

  it('accepts a collection `{ value: [...] }` and reports failures by item', () => {
    const collection = {
      '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2',
      value: [mde, mdca, appGovernance],
    };
    const { events } = accept(graphFormat, collection);
    expect(drafts(events).map((draft) => draft.sourceId)).toEqual([mde.id, mdca.id, appGovernance.id]);
    const { title: _title, ...untitled } = mdca;
    expect(reject(graphFormat, { value: [mde, untitled] }).map((issue) => issue.path)).toEqual([
      'value.1.title',
    ]);
    expect(reject(graphFormat, { value: [] }).map((issue) => issue.path)).toEqual(['value']);
  });

  it('maps the other evidence types, and keeps unknown ones as `other`', () => {
    const security = '#microsoft.graph.security.';
    const evidence = [
      {
        '@odata.type': `${security}mailboxEvidence`,
        primaryAddress: 'Alice@Contoso.com',
        displayName: 'Alice',
      },
      { '@odata.type': `${security}urlEvidence`, url: 'http://phish.example/Login', roles: ['attacker'] },
      {
        '@odata.type': `${security}analyzedMessageEvidence`,
        internetMessageId: '<ABC@mail.example>',
        subject: 'Invoice',
      },
      { '@odata.type': `${security}cloudApplicationEvidence`, appId: 11161, displayName: 'Office 365' },
      {
        '@odata.type': `${security}oauthApplicationEvidence`,
        appId: 'AAAA-1',
        displayName: 'Mail Sync',
        publisher: 'Contoso',
        permissions: ['Mail.ReadWrite'],
        consentType: 'AllPrincipals',
      },
      {
        '@odata.type': `${security}registryValueEvidence`,
        registryHive: 'HKEY_CURRENT_USER',
        registryKey: 'Software\\Run',
        registryValueName: 'Updater',
      },
      { '@odata.type': `${security}securityGroupEvidence`, securityGroupId: 'G-1', displayName: 'Admins' },
      {
        '@odata.type': `${security}azureResourceEvidence`,
        resourceId: '/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/VM1',
        resourceName: 'VM1',
      },
      { '@odata.type': `${security}kubernetesPodEvidence`, name: 'api-7d9f', namespace: { name: 'prod' } },
      { '@odata.type': `${security}deviceEvidence`, deviceDnsName: null, mdeDeviceId: null },
    ];
    const draft = only(drafts(accept(graphFormat, { ...mde, evidence }).events));
    expect(draft.entities.map((entity) => [entity.kind, entity.key, entity.displayName])).toEqual([
      ['mailbox', 'alice@contoso.com', 'Alice'],
      ['url', 'http://phish.example/Login', 'http://phish.example/Login'],
      ['mail_message', '<ABC@mail.example>', 'Invoice'],
      ['cloud_application', '11161', 'Office 365'],
      ['oauth_application', 'aaaa-1', 'Mail Sync'],
      [
        'registry_value',
        'hkey_current_user\\software\\run\\updater',
        'HKEY_CURRENT_USER\\Software\\Run\\Updater',
      ],
      ['security_group', 'g-1', 'Admins'],
      [
        'cloud_resource',
        '/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1',
        'VM1',
      ],
      ['other', expect.stringMatching(/^evidence:[0-9a-f]{32}$/), 'api-7d9f'],
      ['device', expect.stringMatching(/^evidence:[0-9a-f]{32}$/), expect.any(String)],
    ]);
    expect(draft.entities[1]?.roles).toEqual(['attacker']);
    expect(draft.entities[4]?.attributes).toMatchObject({
      permissions: ['Mail.ReadWrite'],
      consentType: 'AllPrincipals',
    });
    expect(draft.entities[8]?.attributes).toMatchObject({ odataType: `${security}kubernetesPodEvidence` });
  });

  it('drops a javascript: alert URL from links and policy, and stringifies a numeric incident ID', () => {
    const draft = only(
      drafts(accept(graphFormat, { ...mde, alertWebUrl: 'javascript:alert(1)', incidentId: 28282 }).events),
    );
    expect(draft.links.map((link) => link.title)).toEqual(['Incident']);
    expect(draft.policyUrl).toBeNull();
    expect(draft.labels.incidentId).toBe('28282');
  });

  it('rejects a legacy /security/alerts (v1) alert with a message that says so', () => {
    const v1 = fixture('alerts/graph-security/legacy-alert-v1-NOT-alerts_v2.xsoar-test-data.json');
    expect(reject(graphFormat, v1)).toEqual([
      { path: '', message: expect.stringMatching(/legacy \/security\/alerts \(v1\).*alerts_v2/) },
    ]);
    expect(reject(graphFormat, { value: [mde, v1] })).toEqual([
      { path: 'value.1', message: expect.stringContaining('legacy') },
    ]);
  });

  it('rejects incidents, which are not alerts', () => {
    for (const path of [
      'alerts/graph-security/incident.docs.json',
      'alerts/graph-security/incident.xsoar-test-data.json',
    ]) {
      expect(reject(graphFormat, fixture(path))).toEqual([
        { path: '', message: expect.stringContaining('incident') },
      ]);
    }
  });

  it('rejects wrongly typed fields, naming each', () => {
    const issues = reject(graphFormat, fixture('malformed/graph-alert.wrong-types.HANDMADE.json'));
    expect(issues.map((issue) => issue.path).sort()).toEqual(
      [
        'classification',
        'comments',
        'createdDateTime',
        'description',
        'evidence',
        'id',
        'incidentId',
        'mitreTechniques',
        'severity',
        'status',
        'title',
      ].sort(),
    );
    expect(issues.find((issue) => issue.path === 'id')?.message).toContain('expected string');
  });
});

interface PagerDutyBody {
  routing_key: string;
  event_action: string;
  dedup_key?: string;
  payload?: { summary: string; source: string; severity: string; timestamp?: string; [key: string]: unknown };
  [key: string]: unknown;
}

describe('pagerduty format', () => {
  const triggerEvent = fixture<PagerDutyBody>('alerts/pagerduty/events-v2.trigger.openapi-example.json');
  const routingKey = 'e93facc04764012d7bfb002500d5d1a6';

  it('maps a trigger to an occurrence', () => {
    const { events } = accept(pagerdutyFormat, triggerEvent);
    const draft = only(drafts(events));
    expect(draft.source).toBe('pagerduty');
    expect(draft.title).toBe('DISK at 99% on machine prod-datapipe03.example.com');
    expect(draft.severity).toBe('critical');
    expect(draft.category).toBe('disk');
    expect(draft.sourceId).toBe('srv01/mysql');
    expect(draft.fingerprint).toBe(fingerprintOf('pagerduty', routingKey, 'srv01/mysql'));
    expect(draft.fingerprint).toMatch(/^pagerduty:[0-9a-f]{32}$/);
    expect(draft.occurredAt.toISOString()).toBe('2015-07-17T08:42:58.315Z'); // `+0000`
    expect(draft.labels).toEqual({
      component: 'mysql',
      group: 'prod-datapipe',
      class: 'disk',
      source: 'prod-datapipe03.example.com',
    });
    expect(draft.description).toBe('free space: 1%\nping time: 1500ms\nload avg: 0.75');
    expect(draft.entities.map((entity) => [entity.kind, entity.key])).toEqual([
      ['device', 'prod-datapipe03.example.com'],
    ]);
    expect(draft.links).toEqual([
      { title: 'An example link.', url: 'http://pagerduty.example.com/' },
      { title: 'Sample Monitoring Service', url: 'https://monitoring.service.com/' },
    ]);
    // The routing key is a credential: not in the stored payload.
    expect((draft.raw as { routing_key: string }).routing_key).toBe('[redacted]');
    expect(JSON.stringify(draft.raw)).not.toContain(routingKey);
    expect(JSON.stringify(draft.labels)).not.toContain(routingKey);
  });

  it('maps acknowledge and resolve to source statuses of the triggered alert', () => {
    const fingerprint = only(drafts(accept(pagerdutyFormat, triggerEvent).events)).fingerprint;
    const ack = { routing_key: routingKey, dedup_key: 'srv01/mysql', event_action: 'acknowledge' };
    expect(accept(pagerdutyFormat, ack).events).toEqual([
      { kind: 'source_status', source: 'pagerduty', fingerprint, action: 'start_progress', at: RECEIVED },
    ]);
    expect(accept(pagerdutyFormat, { ...ack, event_action: 'resolve' }).events).toEqual([
      { kind: 'source_status', source: 'pagerduty', fingerprint, action: 'resolve', at: RECEIVED },
    ]);
    // dedup_key is scoped by routing key.
    const other = accept(pagerdutyFormat, { ...ack, routing_key: 'another-key', event_action: 'resolve' })
      .events[0];
    expect(other?.kind === 'source_status' && other.fingerprint).not.toBe(fingerprint);
  });

  it('folds keyless triggers with the same summary and source', () => {
    const { dedup_key: _key, ...keyless } = triggerEvent;
    const first = only(drafts(accept(pagerdutyFormat, keyless).events));
    const again = only(drafts(accept(pagerdutyFormat, structuredClone(keyless)).events));
    expect(first.sourceId).toBeNull();
    expect(again.fingerprint).toBe(first.fingerprint);
    expect(first.fingerprint).not.toBe(fingerprintOf('pagerduty', routingKey, 'srv01/mysql'));
    const different = structuredClone(keyless);
    if (different.payload) different.payload.summary = 'DISK at 100% on machine prod-datapipe03.example.com';
    expect(only(drafts(accept(pagerdutyFormat, different).events)).fingerprint).not.toBe(first.fingerprint);
  });

  it('maps severities, reads offsets without a colon, and makes no device of a non-host source', () => {
    const severities = ['critical', 'error', 'warning', 'info'].map((severity) => {
      const event = structuredClone(triggerEvent);
      if (event.payload) event.payload.severity = severity;
      return only(drafts(accept(pagerdutyFormat, event).events)).severity;
    });
    expect(severities).toEqual(['critical', 'high', 'medium', 'informational']);
    expect(eventTime('2015-07-17T08:42:58+0530', RECEIVED).toISOString()).toBe('2015-07-17T03:12:58.000Z');
    expect(eventTime('2015-07-17T08:42:58', RECEIVED).toISOString()).toBe('2015-07-17T08:42:58.000Z');
    expect(eventTime('last tuesday', RECEIVED)).toEqual(RECEIVED);
    const event = structuredClone(triggerEvent);
    if (event.payload) event.payload.source = 'Sample Monitoring Service';
    expect(only(drafts(accept(pagerdutyFormat, event).events)).entities).toEqual([]);
  });

  it('rejects events missing what their action needs, naming the field', () => {
    const { payload: _payload, ...noPayload } = triggerEvent;
    expect(reject(pagerdutyFormat, noPayload).map((issue) => issue.path)).toEqual(['payload']);
    expect(
      reject(pagerdutyFormat, { routing_key: routingKey, event_action: 'resolve' }).map(
        (issue) => issue.path,
      ),
    ).toEqual(['dedup_key']);
    expect(
      reject(pagerdutyFormat, { ...triggerEvent, dedup_key: 'x'.repeat(256) }).map((issue) => issue.path),
    ).toEqual(['dedup_key']);
    expect(
      reject(pagerdutyFormat, {
        ...triggerEvent,
        payload: { ...triggerEvent.payload, severity: 'fatal' },
      }).map((issue) => issue.path),
    ).toEqual(['payload.severity']);
    expect(
      reject(pagerdutyFormat, { ...triggerEvent, event_action: 'snooze' }).map((issue) => issue.path),
    ).toEqual(['event_action']);
    expect(reject(pagerdutyFormat, { ...triggerEvent, routing_key: '' }).map((issue) => issue.path)).toEqual([
      'routing_key',
    ]);
  });
});
