import { z } from 'zod';
import type { AlertEntity, IngestEvent, Severity } from '../../../domain/index.js';
import { firstText, hostOf, linkTo } from './alertmanager.js';
import { dateOr, defineFormat, draft, fingerprintOf } from './format.js';

/** PagerDuty's four severities; `error` is above `warning`, so it reads as high. */
const SEVERITY = {
  critical: 'critical',
  error: 'high',
  warning: 'medium',
  info: 'informational',
} as const satisfies Record<string, Severity>;

const routingKey = z.string().min(1);
const dedupKey = z.string().min(1).max(255);

const trigger = z.looseObject({
  event_action: z.literal('trigger'),
  routing_key: routingKey,
  dedup_key: dedupKey.optional(),
  payload: z.looseObject({
    summary: z.string().min(1).max(1_024),
    source: z.string().min(1),
    severity: z.enum(['critical', 'error', 'warning', 'info']),
    timestamp: z.string().optional(),
    component: z.string().optional(),
    group: z.string().optional(),
    class: z.string().optional(),
    custom_details: z.unknown().optional(),
  }),
  client: z.string().optional(),
  client_url: z.string().optional(),
  links: z.array(z.looseObject({ href: z.string(), text: z.string().optional() })).optional(),
  // `images` is accepted and ignored: Vigil never fetches payload-supplied images.
});

/** Acknowledge and resolve name an earlier trigger by its key; a payload, if any, is ignored. */
const followUp = z.looseObject({
  event_action: z.enum(['acknowledge', 'resolve']),
  routing_key: routingKey,
  dedup_key: dedupKey,
});

type PagerDutyEvent = z.infer<typeof trigger> | z.infer<typeof followUp>;

/**
 * The routing key is hashed in: it is a credential for the sender's PagerDuty service, and it
 * scopes `dedup_key`, which is only unique per routing key.
 */
function pagerdutyFingerprint(event: PagerDutyEvent): string {
  if (event.event_action !== 'trigger') return fingerprintOf('pagerduty', event.routing_key, event.dedup_key);
  if (event.dedup_key !== undefined) return fingerprintOf('pagerduty', event.routing_key, event.dedup_key);
  // PagerDuty would mint a new key per keyless trigger; Vigil folds identical ones instead, so a
  // noisy sender without keys does not open an alert per event. The arity keeps this space apart.
  return fingerprintOf('pagerduty', event.routing_key, '', event.payload.summary, event.payload.source);
}

/** PagerDuty's documented example uses `+0000`; a time without any zone is read as UTC, not server-local. */
export function eventTime(value: string | undefined, fallback: Date): Date {
  if (value === undefined) return fallback;
  let text = value.trim().replace(/(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*([+-]\d{2})(\d{2})$/, '$1$2:$3');
  const zoned = /(?:z|[+-]\d{2}:\d{2})$/i.test(text);
  if (!zoned && /\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/.test(text)) text = `${text}Z`;
  return dateOr(text, fallback);
}

/** `custom_details` as lines a person can read; it is an object by convention but any JSON is allowed. */
function detailsText(details: unknown): string {
  if (details === undefined || details === null) return '';
  if (typeof details === 'string') return details;
  if (typeof details !== 'object' || Array.isArray(details)) return JSON.stringify(details);
  return Object.entries(details)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('\n');
}

/**
 * PagerDuty Events API v2 (`/v2/enqueue`): trigger → occurrence, acknowledge → In progress,
 * resolve → Resolved, all by `dedup_key`. The routing key never leaves this module in clear:
 * it is redacted from `raw`, and flood control gets a hash of it as the source key.
 */
export const pagerdutyFormat = defineFormat({
  name: 'pagerduty',
  schema: z.discriminatedUnion('event_action', [trigger, followUp]),
  toEvents(event, receivedAt): IngestEvent[] {
    const fingerprint = pagerdutyFingerprint(event);
    if (event.event_action !== 'trigger') {
      const action = event.event_action === 'acknowledge' ? 'start_progress' : 'resolve';
      return [{ kind: 'source_status', source: 'pagerduty', fingerprint, action, at: receivedAt }];
    }
    const { payload } = event;
    const host = hostOf(payload.source);
    const entities: AlertEntity[] =
      host === null
        ? []
        : [
            {
              kind: 'device',
              key: host,
              displayName: payload.source,
              roles: [],
              attributes: { field: 'source' },
            },
          ];
    const labels: Record<string, string> = {};
    for (const name of ['component', 'group', 'class', 'source'] as const) {
      const value = payload[name];
      if (value !== undefined && value !== '') labels[name] = value;
    }
    return [
      {
        kind: 'occurrence',
        draft: draft({
          source: 'pagerduty',
          sourceId: event.dedup_key ?? null,
          title: payload.summary,
          description: detailsText(payload.custom_details),
          severity: SEVERITY[payload.severity],
          category: firstText(payload.class) ?? null,
          fingerprint,
          policyName: null,
          policyUrl: null,
          entities,
          labels,
          links: [
            ...(event.links ?? []).flatMap((link) => linkTo(firstText(link.text) ?? link.href, link.href)),
            ...linkTo(firstText(event.client) ?? 'Monitoring tool', event.client_url),
          ],
          occurredAt: eventTime(payload.timestamp, receivedAt),
          determination: null,
          raw: { ...event, routing_key: '[redacted]' },
        }),
      },
    ];
  },
});
