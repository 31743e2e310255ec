import { isIP } from 'node:net';
import { z } from 'zod';
import type { AlertEntity, AlertLink, IngestEvent, Severity } from '../../../domain/index.js';
import { canonicalLabels, dateOr, defineFormat, draft, fingerprintOf, safeUrl } from './format.js';

const stringMap = z.record(z.string(), z.string());

/**
 * One alert of an Alertmanager webhook; Grafana sends the same shape with a few more URLs.
 * Loose, so fields this version does not know (`values`, `imageURL`...) stay in `raw`.
 * `fingerprint` is missing before Alertmanager 0.19; `endsAt` of an open alert is year 1.
 */
export const webhookAlert = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: stringMap,
  annotations: stringMap.default({}),
  startsAt: z.string().optional(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().max(500).optional(),
});
export type WebhookAlert = z.infer<typeof webhookAlert>;

/**
 * `labels.severity` words, lower-cased. There is no standard: these are the words Prometheus
 * rules, syslog and ITSM tools commonly use. `error`/`major` count as high, `warning` as medium,
 * `minor`/`notice` as low; anything else (or no label) is medium, the neutral middle.
 */
const SEVERITY_WORDS: ReadonlyMap<string, Severity> = new Map([
  ...['critical', 'crit', 'fatal', 'emergency', 'emerg', 'alert', 'disaster', 'p1', 'sev1'].map(
    (word) => [word, 'critical'] as const,
  ),
  ...['high', 'error', 'err', 'major', 'p2', 'sev2'].map((word) => [word, 'high'] as const),
  ...['medium', 'moderate', 'average', 'warning', 'warn', 'p3', 'sev3'].map(
    (word) => [word, 'medium'] as const,
  ),
  ...['low', 'minor', 'notice', 'p4', 'sev4'].map((word) => [word, 'low'] as const),
  ...['info', 'informational', 'information', 'debug', 'none', 'ok', 'p5', 'sev5'].map(
    (word) => [word, 'informational'] as const,
  ),
]);

export const labelSeverity = (value: string | undefined): Severity =>
  (value === undefined ? undefined : SEVERITY_WORDS.get(value.trim().toLowerCase())) ?? 'medium';

/**
 * The source's own fingerprint when it sends one, else a hash of the label set. Both are a
 * function of the labels only, so the firing and the resolved notification of one alert agree
 * whichever rule applies. The one case that splits an alert is an upgrade between its firing
 * and its resolution from an Alertmanager without `fingerprint` (before 0.19) to one with it.
 */
export function webhookFingerprint(source: string, alert: WebhookAlert): string {
  return alert.fingerprint
    ? `${source}:${alert.fingerprint}`
    : fingerprintOf(source, canonicalLabels(alert.labels));
}

/** Alertmanager writes "no time" as `0001-01-01T00:00:00Z`, which parses: treat any pre-1970 date as absent. */
export function webhookDate(value: string | undefined, fallback: Date): Date {
  const date = dateOr(value, fallback);
  return date.getTime() < 0 ? fallback : date;
}

/** The first value that has some text in it. */
export function firstText(...values: readonly (string | null | undefined)[]): string | undefined {
  return values.find(
    (value): value is string => value !== undefined && value !== null && value.trim() !== '',
  );
}

/** A link, when its URL is http(s) (see `safeUrl`) and short enough not to be cut into a broken one. */
export function linkTo(title: string, url: string | null | undefined): AlertLink[] {
  const safe = safeUrl(url);
  return safe === null || safe.length > 2_000 ? [] : [{ title, url: safe }];
}

const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

/**
 * The host in a label value: `host:9100` → `host`, `[::1]:9100` → `::1`, `https://x.example/p`
 * → `x.example`. Null when the value does not look like a host name or IP at all.
 */
export function hostOf(value: string): string | null {
  let host = value.trim();
  if (host.includes('://')) {
    try {
      host = new URL(host).hostname;
    } catch {
      return null;
    }
  }
  const bracketed = /^\[([0-9a-f:.]+)\](?::\d+)?$/i.exec(host);
  if (bracketed?.[1] !== undefined) host = bracketed[1];
  else if (isIP(host) === 0) host = host.replace(/:\d{1,5}$/, '');
  if (isIP(host) !== 0) return host.toLowerCase();
  return HOST_NAME.test(host) ? host.toLowerCase().replace(/\.$/, '') : null;
}

const DEVICE_LABELS = ['instance', 'host', 'hostname', 'node'] as const;
const USER_LABELS = ['user', 'username'] as const;
const IP_LABELS = ['ip', 'src_ip'] as const;

/**
 * Entities from well-known label names. `pod` and `namespace` are deliberately not entities:
 * they are workloads, not things an analyst isolates or disables.
 */
export function labelEntities(labels: Readonly<Record<string, string>>): AlertEntity[] {
  const entities: AlertEntity[] = [];
  const add = (kind: AlertEntity['kind'], label: string, key: string | null) => {
    const value = labels[label];
    if (value === undefined || key === null || key === '') return;
    entities.push({ kind, key, displayName: key, roles: [], attributes: { label, value } });
  };
  for (const label of DEVICE_LABELS) add('device', label, hostOf(labels[label] ?? ''));
  // Keys are normalised (case, IPv6 form) by `draft`, as for every format.
  for (const label of USER_LABELS) add('user', label, labels[label]?.trim() ?? null);
  for (const label of IP_LABELS) {
    const ip = labels[label]?.trim() ?? '';
    add('ip', label, isIP(ip) === 0 ? null : ip);
  }
  return entities;
}

/**
 * The events of an Alertmanager-shaped group: each alert has its own status (the group's
 * top-level `status` says nothing about a single alert). `firing` is an occurrence; `resolved`
 * is the source resolving the alert of that fingerprint, at its `endsAt`.
 */
export function webhookAlertEvents<A extends WebhookAlert>(
  source: string,
  alerts: readonly A[],
  receivedAt: Date,
  linksOf: (alert: A) => AlertLink[],
): IngestEvent[] {
  return alerts.map((alert): IngestEvent => {
    const fingerprint = webhookFingerprint(source, alert);
    if (alert.status === 'resolved') {
      return {
        kind: 'source_status',
        source,
        fingerprint,
        action: 'resolve',
        at: webhookDate(alert.endsAt, receivedAt),
      };
    }
    const { labels, annotations } = alert;
    return {
      kind: 'occurrence',
      draft: draft({
        source,
        sourceId: alert.fingerprint || null,
        // `title` is not an Alertmanager convention but Grafana OnCall and many rule sets use it.
        title: firstText(annotations.summary, annotations.title, labels.alertname) ?? '',
        description: firstText(annotations.description, annotations.message) ?? '',
        severity: labelSeverity(labels.severity),
        category: firstText(labels.category) ?? null,
        fingerprint,
        policyName: firstText(labels.alertname) ?? null,
        policyUrl: null,
        entities: labelEntities(labels),
        labels,
        links: [
          ...linksOf(alert),
          ...linkTo('Runbook', firstText(annotations.runbook_url, annotations.runbook)),
        ],
        occurredAt: webhookDate(alert.startsAt, receivedAt),
        determination: null,
        raw: alert,
      }),
    };
  });
}

/** Alertmanager's UI link that pre-fills a silence matching exactly this alert's labels. */
function silenceUrl(
  externalURL: string | undefined,
  labels: Readonly<Record<string, string>>,
): string | null {
  const base = safeUrl(externalURL);
  if (base === null) return null;
  const matchers = Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}="${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`)
    .join(',');
  return `${base.replace(/\/+$/, '')}/#/silences/new?filter=${encodeURIComponent(`{${matchers}}`)}`;
}

/**
 * Prometheus Alertmanager webhook, version 4 (`<webhook_config>`): one POST per group, several
 * alerts. Other versions are refused rather than guessed at; fields this parser does not use
 * (`numFiring`, `notification_reason`, `routeLabels`...) are ignored.
 */
export const alertmanagerFormat = defineFormat({
  name: 'alertmanager',
  schema: z.object({
    version: z.literal('4', {
      error: 'expected an Alertmanager webhook with version "4" (Grafana alerting posts to /ingest/grafana)',
    }),
    status: z.enum(['firing', 'resolved']),
    receiver: z.string().optional(),
    externalURL: z.string().optional(),
    alerts: z.array(webhookAlert).min(1),
  }),
  toEvents: (payload, receivedAt) =>
    webhookAlertEvents('alertmanager', payload.alerts, receivedAt, (alert) => [
      ...linkTo('Source', alert.generatorURL),
      ...linkTo('Silence', silenceUrl(payload.externalURL, alert.labels)),
    ]),
});
