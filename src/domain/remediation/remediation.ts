import type { Actor } from '../actor.js';

/** Where a remediation stands. `overdue` and `exception` are still unfinished work, seen apart. */
export const REMEDIATION_STATUSES = ['open', 'in_progress', 'completed', 'overdue', 'exception'] as const;
export type RemediationStatus = (typeof REMEDIATION_STATUSES)[number];

export const REMEDIATION_STATUS_LABELS: Readonly<Record<RemediationStatus, string>> = {
  open: 'Open',
  in_progress: 'In progress',
  completed: 'Completed',
  overdue: 'Overdue',
  exception: 'Exception',
};

export const REMEDIATION_PRIORITIES = ['low', 'medium', 'high', 'critical'] as const;
export type RemediationPriority = (typeof REMEDIATION_PRIORITIES)[number];

/** Why a remediation is not carried out (the words users see are in EXCEPTION_REASON_LABELS). */
export const EXCEPTION_REASONS = [
  'false_positive',
  'compensating_control',
  'business_justification',
  'planned_remediation',
] as const;
export type ExceptionReason = (typeof EXCEPTION_REASONS)[number];

export const EXCEPTION_REASON_LABELS: Readonly<Record<ExceptionReason, string>> = {
  false_positive: 'False positive',
  compensating_control: 'Compensating control',
  business_justification: 'Business justification (productivity or compliance needs)',
  planned_remediation: 'Planned remediation (grace period)',
};

/** The ticketing systems a remediation can be tracked in; `builtin` needs no external system. */
export const TICKET_CONNECTORS = ['builtin', 'jira', 'servicenow', 'webhook'] as const;
export type TicketConnector = (typeof TICKET_CONNECTORS)[number];

/**
 * What to fix: a free-text security recommendation, or a pending action an investigation proposed
 * (referenced, so the ticket links back to the evidence).
 */
export type RemediationSubject =
  | { readonly kind: 'recommendation'; readonly text: string }
  | { readonly kind: 'investigation_action'; readonly actionRef: string; readonly text: string };

/** What a requester asks for, before the device cap is applied. */
export interface RemediationRequest {
  readonly subject: RemediationSubject;
  /** Device names or IDs as the requester gave them; duplicates are ignored. */
  readonly devices: readonly string[];
  readonly dueAt: Date;
  readonly priority: RemediationPriority;
  /** Context for the IT owner: urgency, a recent exploit, a compliance deadline. */
  readonly notes: string;
  readonly requester: Actor;
  readonly alertId: string | null;
}

/** An exception filed against a remediation: why it is not done, and until when that holds. */
export interface RemediationException {
  readonly reason: ExceptionReason;
  readonly justification: string;
  readonly expiresAt: Date;
  readonly filedBy: Actor;
  readonly filedAt: Date;
}

/** A remediation activity as Vigil tracks it, with the ticket that carries it to IT. */
export interface Remediation {
  readonly id: string;
  readonly subject: RemediationSubject;
  /** The devices sent with this request (at most MAX_DEVICES_PER_REQUEST). */
  readonly deviceCount: number;
  /** Devices the requester asked for that did not fit and must be sent in another request. */
  readonly devicesLeft: number;
  readonly dueAt: Date;
  readonly priority: RemediationPriority;
  readonly notes: string;
  readonly requester: Actor;
  readonly alertId: string | null;
  readonly status: RemediationStatus;
  /** The ticketing system that carries it; null until its ticket is opened. */
  readonly connector: TicketConnector | null;
  readonly externalId: string | null;
  readonly externalUrl: string | null;
  readonly exception: RemediationException | null;
  readonly completedAt: Date | null;
  readonly completedBy: Actor | null;
  /** What the person who marked it completed said (how it was fixed); null when nothing. */
  readonly completionComment: string | null;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** The actor behind a change the ticketing system reported (a Jira issue moved to Done). */
export const ticketingActor = (connector: TicketConnector): Actor => ({
  kind: 'source',
  source: `ticketing:${connector}`,
});
