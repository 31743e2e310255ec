import type { Actor, AlertStatus, Classification, Severity } from './types';

export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'informational'];
export const STATUSES: readonly AlertStatus[] = ['new', 'in_progress', 'resolved'];

export const STATUS_LABELS: Record<AlertStatus, string> = {
  new: 'New',
  in_progress: 'In progress',
  resolved: 'Resolved',
};

export const CLASSIFICATION_LABELS: Record<Classification, string> = {
  true_positive: 'True positive',
  false_positive: 'False positive',
  informational_expected_activity: 'Informational, expected activity',
};

/** Microsoft Graph's determinations, as the Resolve form offers them (the API takes the keys). */
export const DETERMINATION_LABELS: Record<string, string> = {
  malware: 'Malware',
  phishing: 'Phishing',
  compromisedAccount: 'Compromised account',
  maliciousUserActivity: 'Malicious user activity',
  multiStagedAttack: 'Multi-staged attack',
  apt: 'Advanced persistent threat',
  unwantedSoftware: 'Unwanted software',
  securityTesting: 'Security testing',
  securityPersonnel: 'Security personnel',
  lineOfBusinessApplication: 'Line-of-business application',
  confirmedActivity: 'Confirmed activity',
  notMalicious: 'Not malicious',
  notEnoughDataToValidate: 'Not enough data to validate',
  other: 'Other',
};

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
