/**
 * The API's shapes as the console reads them. Alerts follow src/bot/http/api/alert-view.ts.
 * Investigations, actions and remediations come from APIs that grow release by release, so
 * their fields are optional and the pages show what is there.
 */
export type AlertStatus = 'new' | 'in_progress' | 'resolved';
export type Severity = 'informational' | 'low' | 'medium' | 'high' | 'critical';
export type Classification = 'true_positive' | 'false_positive' | 'informational_expected_activity';

export type Actor =
  | { kind: 'user'; platform: string; id: string; name?: string }
  | { kind: 'source'; source: string }
  | { kind: 'policy'; policyId: string; name: string }
  | { kind: 'system' };

export interface Alert {
  id: string;
  number: string;
  status: AlertStatus;
  severity: Severity;
  title: string;
  description: string;
  source: string;
  sourceId: string | null;
  category: string | null;
  fingerprint: string;
  policyName: string | null;
  policyUrl: string | null;
  /** The Vigil policy that acted on it, beside the source's policy. */
  vigilPolicy?: { id: string; name: string } | null;
  labels: Record<string, string>;
  links: { title: string; url: string }[];
  classification: Classification | null;
  resolutionComment: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
  occurrenceCount: number;
  assignee: Actor | null;
  statusChangedBy: Actor | null;
  statusChangedAt: string | null;
  version: number;
  createdAt: string;
}

export interface Entity {
  kind: string;
  key: string;
  displayName: string;
  roles?: string[];
  attributes?: Record<string, unknown>;
  verdict?: string;
  why?: string;
}

export interface AuditEntry {
  id: string;
  actor: Actor;
  actorKey: string;
  action: string;
  details: Record<string, unknown>;
  at: string;
}

export interface CardRecord {
  platform: string;
  target: string;
  messageRef: string | null;
  state: string;
  error: string | null;
  updatedAt: string;
}

export interface InvestigationRef {
  id: string;
  number?: string;
  status?: string;
}

export interface AlertDetail extends Alert {
  /** The first entities; `entitiesTruncated` when /api/alerts/:id/entities has more. */
  entities: Entity[];
  entityCount?: number;
  entitiesTruncated?: boolean;
  /** The latest entries; `auditTruncated` when /api/alerts/:id/audit has older ones. */
  audit: AuditEntry[];
  auditTruncated?: boolean;
  cards: CardRecord[];
  investigations?: InvestigationRef[];
}

export interface AlertPage {
  alerts: Alert[];
  nextCursor: string | null;
}

export interface CardPreview {
  teams: Record<string, unknown>;
  slack: { text: string; blocks: Record<string, unknown>[] };
}

export interface Action {
  id: string;
  number?: string;
  kind?: string;
  type?: string;
  title?: string;
  description?: string;
  status?: string;
  target?: unknown;
  entity?: { kind: string; key: string; displayName?: string } | null;
  investigationId?: string | null;
  alertId?: string | null;
  requestedAt?: string;
  createdAt?: string;
  /** Why the investigation proposes it. */
  reason?: string | null;
  requestedBy?: Actor;
  approvalsNeeded?: number;
  decisions?: {
    approver?: Actor;
    approverKey: string;
    decision: string;
    reason: string | null;
    at: string;
  }[];
  error?: string | null;
  /** What the executor answered, once done. */
  result?: unknown;
  updatedAt?: string;
}

export interface Finding {
  key?: string;
  title: string;
  verdict?: string;
  entity?: { kind: string; key: string } | null;
}

export interface LogEntry {
  stepKey?: string;
  provider?: string;
  outcome?: string;
  error?: string | null;
  startedAt?: string;
  endedAt?: string;
  message?: string;
  at?: string;
}

/** One line of `GET /api/investigations`. */
export interface InvestigationListItem {
  id: string;
  number: string;
  status: string;
  automation: string;
  startedBy: Actor;
  triggerAlert: { id: string; number: string; title: string; severity: Severity };
  alertCount: number;
  entityCount: number;
  pendingActionCount: number;
  failedActionCount: number;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface InvestigationListPage {
  investigations: InvestigationListItem[];
  nextCursor: string | null;
}

export interface Investigation {
  id: string;
  number?: string;
  status: string;
  triggerAlertId?: string;
  startedBy?: Actor;
  createdAt?: string;
  updatedAt?: string;
  alerts?: (Partial<Alert> & { id: string })[];
  entities?: Entity[];
  findings?: Finding[];
  log?: LogEntry[];
  actions?: Action[];
  pendingActions?: Action[];
  devices?: Entity[];
  users?: Entity[];
  /** Drawn by the API: alerts and entities, with the edges between them. */
  graph?: {
    nodes: { id: string; type: string; label: string; kind?: string; verdict?: string }[];
    edges: { from: string; to: string }[];
  };
}

/** As `remediationView` in src/bot/http/api/remediations.ts shows it; people are actor keys there. */
export interface Remediation {
  id: string;
  number?: string;
  recommendation?: string;
  actionRef?: string | null;
  status: string;
  priority?: string;
  dueAt?: string;
  deviceCount?: number;
  devicesLeft?: number;
  requester?: string;
  alertId?: string | null;
  ticket?: { connector: string | null; externalId: string | null; url: string | null };
  exception?: {
    reason: string;
    justification?: string;
    expiresAt?: string;
    filedBy?: string;
    filedAt?: string;
  } | null;
  completedAt?: string | null;
  completedBy?: string | null;
  completionComment?: string | null;
  createdAt?: string;
}

/** One page of a long list of an alert's (entities, audit trail). */
export interface ListPage {
  entities?: Entity[];
  audit?: AuditEntry[];
  nextCursor: string | null;
}
