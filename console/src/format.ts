import { DETERMINATION_LABELS as DOMAIN_DETERMINATION_LABELS } from '../../src/domain/alert/alert';
import type { Actor, AlertStatus, Severity } from './types';

export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'informational'];
export const STATUSES: readonly AlertStatus[] = ['new', 'in_progress', 'resolved'];

// The labels Slack and Teams show, so the console says the same (src/domain is pure data, bundled in).
export { CLASSIFICATION_LABELS, STATUS_LABELS } from '../../src/domain/alert/alert';

/**
 * Microsoft Graph's determinations, as the Resolve form offers them (the API takes the keys), keyed
 * by any string since Graph may send one the domain's table lacks.
 */
export const DETERMINATION_LABELS: Readonly<Record<string, string>> = DOMAIN_DETERMINATION_LABELS;

export const EXCEPTION_REASONS: Record<string, string> = {
  false_positive: 'False positive',
  compensating_control: 'Compensating control',
  business_justification: 'Business justification (productivity or compliance needs)',
  planned_remediation: 'Planned remediation (grace period)',
};

const ENTITY_KIND_LABELS: Record<string, string> = {
  ip: 'IP',
  url: 'URL',
  oauth_application: 'OAuth app',
  cloud_application: 'Cloud app',
  mail_message: 'Mail message',
};

export const entityKindLabel = (kind: string): string => ENTITY_KIND_LABELS[kind] ?? humanize(kind);

/** `pending_approval` → `Pending approval`: the words users see for statuses the console has no table for. */
export const humanize = (value: string | undefined | null): string =>
  value ? value.charAt(0).toUpperCase() + value.slice(1).replaceAll('_', ' ') : '—';

export function actorLabel(actor: Actor | null | undefined): string {
  if (!actor) return '—';
  switch (actor.kind) {
    case 'user':
      return actor.name ?? `${actor.platform}:${actor.id}`;
    case 'source':
      return `${actor.source} (alert source)`;
    case 'policy':
      return `${actor.name} (policy)`;
    case 'system':
      return 'Vigil';
  }
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/**
 * Only http(s) URLs become links: a `javascript:` URL in alert data must never be clickable.
 * Returns null for anything else, and the page shows the text without a link.
 */
export function safeHref(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}
