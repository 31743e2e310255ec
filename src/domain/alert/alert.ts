import type { Actor } from '../actor.js';

/** Severity, lowest first; comparisons use the index. */
export const SEVERITIES = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const severityRank = (severity: Severity): number => SEVERITIES.indexOf(severity);

/** The lifecycle users see: New, In progress, Resolved. */
export const ALERT_STATUSES = ['new', 'in_progress', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/** How a resolved alert was judged (Microsoft Graph's classifications, with `benignPositive` as expected activity). */
export const CLASSIFICATIONS = [
  'true_positive',
  'false_positive',
  'informational_expected_activity',
] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

export const CLASSIFICATION_LABELS: Readonly<Record<Classification, string>> = {
  true_positive: 'True positive',
  false_positive: 'False positive',
  informational_expected_activity: 'Informational, expected activity',
};

/**
 * What a resolved alert turned out to be, in Microsoft Graph's own words (`alertDetermination`,
 * without `unknown` and `unknownFutureValue`), so it is written back as chosen.
 */
export const DETERMINATIONS = [
  'malware',
  'phishing',
  'compromisedAccount',
  'maliciousUserActivity',
  'multiStagedAttack',
  'apt',
  'unwantedSoftware',
  'securityTesting',
  'securityPersonnel',
  'lineOfBusinessApplication',
  'confirmedActivity',
  'notMalicious',
  'notEnoughDataToValidate',
  'other',
] as const;
export type Determination = (typeof DETERMINATIONS)[number];

export const DETERMINATION_LABELS: Readonly<Record<Determination, string>> = {
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

export const STATUS_LABELS: Readonly<Record<AlertStatus, string>> = {
  new: 'New',
  in_progress: 'In progress',
  resolved: 'Resolved',
};

/**
 * The kinds of thing an alert can be about. Graph's evidence types map onto these; anything
 * else is kept as `other` with its original type in `attributes.odataType`.
 */
export const ENTITY_KINDS = [
  'user',
  'device',
  'ip',
  'file',
  'process',
  'url',
  'mailbox',
  'mail_message',
  'oauth_application',
  'cloud_application',
  'registry_key',
  'registry_value',
  'security_group',
  'cloud_resource',
  'other',
] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

/** Something an alert is about: a user, a device, an IP, an OAuth app... */
export interface AlertEntity {
  readonly kind: EntityKind;
  /** Stable identity within its kind (UPN, device ID, IP, SHA-256, app ID...), lower-cased where case does not matter. */
  readonly key: string;
  /** What a person reads on a card. */
  readonly displayName: string;
  /** The source's roles for it (`attacker`, `compromised`...), verbatim. */
  readonly roles: readonly string[];
  /** Everything else the source said about it, for investigations and the console. */
  readonly attributes: Readonly<Record<string, unknown>>;
}

export interface AlertLink {
  readonly title: string;
  readonly url: string;
}

/**
 * One occurrence of an alert as a source reported it, already mapped to Vigil's words.
 * Ingest turns every format into drafts; the alert core decides what they become.
 */
export interface AlertDraft {
  /** The ingest format or system (`alertmanager`, `graph`, `grafana`, `pagerduty`, `generic`). */
  readonly source: string;
  /** The source's own ID for this alert, where it has one. */
  readonly sourceId: string | null;
  readonly title: string;
  readonly description: string;
  readonly severity: Severity;
  readonly category: string | null;
  /** Occurrences with the same fingerprint, while the alert is open, are one alert. */
  readonly fingerprint: string;
  readonly policyName: string | null;
  readonly policyUrl: string | null;
  readonly entities: readonly AlertEntity[];
  readonly labels: Readonly<Record<string, string>>;
  readonly links: readonly AlertLink[];
  /** When the source says it started (defaults to the time Vigil received it). */
  readonly occurredAt: Date;
  readonly determination: string | null;
  /** The source's payload, kept for investigations and audits. */
  readonly raw: unknown;
}

/** A stored alert. `version` rises with every change and guards against stale clicks. */
export interface Alert extends Omit<AlertDraft, 'occurredAt' | 'raw'> {
  readonly id: string;
  readonly status: AlertStatus;
  readonly classification: Classification | null;
  readonly resolutionComment: string | null;
  readonly firstSeenAt: Date;
  readonly lastSeenAt: Date;
  readonly occurrenceCount: number;
  readonly assignee: Actor | null;
  readonly statusChangedBy: Actor | null;
  readonly statusChangedAt: Date | null;
  /** The resolved alert this one follows, when its fingerprint fired again after resolution. */
  readonly previousAlertId: string | null;
  /**
   * The Vigil policy that acted on the alert (routed, paged, investigated, remediated), shown
   * beside the source's own `policyName`, never in its place.
   */
  readonly vigilPolicy: { readonly id: string; readonly name: string } | null;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}
