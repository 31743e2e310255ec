import { z } from 'zod';
import { ENTITY_KINDS, SEVERITIES } from '../../../domain/index.js';
import { dateOr, defineFormat, draft, eitherShape, fingerprintOf, hasKey, safeUrl } from './format.js';

const entity = z.object({
  kind: z.enum(ENTITY_KINDS),
  id: z.string().min(1).max(1_000),
  name: z.string().max(500).optional(),
  roles: z.array(z.string().max(100)).max(20).optional(),
  attributes: z.record(z.string(), z.unknown()).optional(),
});

const alert = z.object({
  title: z.string().min(1).max(10_000),
  description: z.string().max(1_000_000).optional(),
  severity: z.enum(SEVERITIES).default('medium'),
  status: z.enum(['firing', 'resolved']).default('firing'),
  source: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'lower-case letters, digits, and . _ - only')
    .optional(),
  id: z.string().min(1).max(500).optional(),
  fingerprint: z.string().min(1).max(500).optional(),
  category: z.string().max(200).optional(),
  policy: z.object({ name: z.string().min(1).max(500), url: z.url().optional() }).optional(),
  entities: z.array(entity).max(500).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  links: z
    .array(z.object({ title: z.string().max(200), url: z.url() }))
    .max(50)
    .optional(),
  occurredAt: z.iso.datetime({ offset: true }).optional(),
});

/**
 * Vigil's own alert JSON (documented in the README): one alert, or `{ "alerts": [...] }`.
 * `status: resolved` resolves the open alert of the same fingerprint, with the source as actor.
 */
export const genericFormat = defineFormat({
  name: 'generic',
  schema: eitherShape(hasKey('alerts'), alert, z.object({ alerts: z.array(alert).min(1).max(1_000) })),
  toEvents(payload, receivedAt) {
    const alerts = 'alerts' in payload ? payload.alerts : [payload];
    return alerts.map((item) => {
      const source = item.source ?? 'generic';
      const fingerprint = item.fingerprint
        ? `${source}:${item.fingerprint}`
        : fingerprintOf(source, item.id ?? item.title);
      if (item.status === 'resolved') {
        return {
          kind: 'source_status',
          source,
          fingerprint,
          action: 'resolve',
          at: dateOr(item.occurredAt, receivedAt),
        };
      }
      return {
        kind: 'occurrence',
        draft: draft({
          source,
          sourceId: item.id ?? null,
          title: item.title,
          description: item.description ?? '',
          severity: item.severity,
          category: item.category ?? null,
          fingerprint,
          policyName: item.policy?.name ?? null,
          policyUrl: safeUrl(item.policy?.url),
          entities: (item.entities ?? []).map((e) => ({
            kind: e.kind,
            key: e.id,
            displayName: e.name ?? e.id,
            roles: e.roles ?? [],
            attributes: e.attributes ?? {},
          })),
          labels: item.labels ?? {},
          links: (item.links ?? []).flatMap((link) => {
            const url = safeUrl(link.url);
            return url === null ? [] : [{ title: link.title, url }];
          }),
          occurredAt: dateOr(item.occurredAt, receivedAt),
          determination: null,
          raw: item,
        }),
      };
    });
  },
});
