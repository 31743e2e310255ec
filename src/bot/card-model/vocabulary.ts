import {
  type AlertStatus,
  type CardAction,
  CLASSIFICATION_LABELS,
  type Classification,
  type EntityKind,
  INVESTIGATION_STATUS_LABELS,
  type InvestigationStatus,
  type Severity,
  STATUS_LABELS,
} from '../../domain/index.js';

/**
 * The words every chat card uses, whatever the platform: one table each, so Slack and Teams can
 * never again say the same thing two ways. Renderers style these words; they never choose them.
 */
export const statusWord = (status: AlertStatus): string => STATUS_LABELS[status];

export const classificationWord = (classification: Classification): string =>
  CLASSIFICATION_LABELS[classification];

export const investigationStatusWord = (status: InvestigationStatus | string): string =>
  INVESTIGATION_STATUS_LABELS[status as InvestigationStatus] ?? status;

export const severityWord = (severity: Severity): string => severity.toUpperCase();

/** How an action stands, said in the middle of a line (`Isolate device laptop-1 · running`). */
export const ACTION_STATUS_WORDS: Readonly<Record<CardAction['status'], string>> = {
  pending_approval: 'waiting for approval',
  approved: 'approved, about to run',
  running: 'running',
  done: 'done',
  failed: 'failed',
  rejected: 'rejected',
  cancelled: 'cancelled',
};

/** Entity kinds as a card groups them: one line per label, so both app kinds share `Apps`. */
const ENTITY_LABELS: Partial<Record<EntityKind, string>> = {
  user: 'Users',
  device: 'Devices',
  ip: 'IPs',
  oauth_application: 'Apps',
  cloud_application: 'Apps',
  mailbox: 'Mailboxes',
  url: 'URLs',
  file: 'Files',
  process: 'Processes',
};

export const entityLabel = (kind: EntityKind): string => ENTITY_LABELS[kind] ?? 'Other';

/** The words on buttons and links, one place for both platforms. */
export const BUTTON_WORDS = {
  startProgress: 'Mark in progress',
  resolve: 'Resolve',
  assignToMe: 'Assign to me',
  reopen: 'Reopen',
  investigate: 'Investigate',
  approve: 'Approve',
  reject: 'Reject',
  resolveIncident: (alertCount: number): string =>
    `Resolve incident (${alertCount} alert${alertCount === 1 ? '' : 's'})`,
  completeRemediation: 'Complete',
  fileException: 'File exception',
  openInVigil: 'Open in Vigil',
  viewPolicy: 'View policy',
  openIncident: 'Open incident',
  openInvestigation: 'Open investigation',
} as const;

/** Field labels on the alert card, in the order both platforms show them. */
export const FACT_LABELS = {
  status: 'Status',
  source: 'Source',
  assignee: 'Assignee',
  policy: 'Policy',
  vigilPolicy: 'Vigil policy',
  firstSeen: 'First seen',
  lastSeen: 'Last seen',
  occurrences: 'Occurrences',
  comment: 'Comment',
} as const;

export const NOBODY = 'Nobody';
