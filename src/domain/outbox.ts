/**
 * Work that must happen after a state change commits, written in the same transaction and
 * relayed to a job queue. Each topic is a queue; the payload is what its worker needs to find
 * the current state in Postgres (never a copy of that state, which would go stale).
 */
export type OutboxMessage =
  | NotifyMessage
  | TicketMessage
  | RemediationDueMessage
  | RemediationNoticeMessage
  | InvestigateMessage
  | ActMessage
  | EscalateMessage
  | PolicyRemediateMessage
  | PolicyInvestigateMessage
  | GraphPullMessage
  | GraphWriteBackMessage
  | GraphIncidentWriteBackMessage
  | IdentityLookupMessage;

/**
 * Ask the identity's platform for its e-mail (once), then link it to the person with the same
 * verified address (see auto-link.ts). `serviceUrl` and `conversationId` say where a Teams member
 * can be asked; Slack and OIDC need nothing more than the key.
 */
export interface IdentityLookupMessage {
  readonly topic: 'identity_lookup';
  readonly payload: {
    readonly key: string;
    readonly serviceUrl?: string | undefined;
    readonly conversationId?: string | undefined;
  };
  readonly availableAt?: Date;
}

/** Write a Graph-sourced alert's state (and new comments) back to Microsoft Graph. */
export interface GraphWriteBackMessage {
  readonly topic: 'graph_writeback';
  readonly payload: { readonly alertId: string };
  readonly availableAt?: Date;
}

export const graphWriteBack = (alertId: string): OutboxMessage => ({
  topic: 'graph_writeback',
  payload: { alertId },
});

/** Write a Defender incident's state (status, classification, determination) back to Microsoft Graph. */
export interface GraphIncidentWriteBackMessage {
  readonly topic: 'graph_incident_writeback';
  readonly payload: { readonly incidentId: string };
  readonly availableAt?: Date;
}

export const graphIncidentWriteBack = (incidentId: string): OutboxMessage => ({
  topic: 'graph_incident_writeback',
  payload: { incidentId },
});

/** Pull changed alerts from Microsoft Graph; each run schedules the next (one chain per install). */
export interface GraphPullMessage {
  readonly topic: 'graph_pull';
  readonly payload: Record<string, never>;
  readonly availableAt?: Date;
}

/** Run (or resume) an investigation's playbook for its current scope round. */
export interface InvestigateMessage {
  readonly topic: 'investigate';
  readonly payload: { readonly investigationId: string; readonly round: number };
  readonly availableAt?: Date;
}

/** Execute one approved remediation action (at most once per approval: see action_executions). */
export interface ActMessage {
  readonly topic: 'act';
  readonly payload: { readonly actionId: string };
  readonly availableAt?: Date;
}

/** Bring every card of an alert up to date. */
export interface NotifyMessage {
  readonly topic: 'notify';
  readonly payload: { readonly alertId: string; readonly reason: NotifyReason };
  /** Not before this time: delayed work (reminders, escalation steps) waits in Postgres, surviving restarts. */
  readonly availableAt?: Date;
}

/** `incident`: another alert of its Defender incident changed, so its card's incident section did. */
export type NotifyReason =
  | 'created'
  | 'occurred'
  | 'status_changed'
  | 'assigned'
  | 'investigation'
  | 'incident';

export type OutboxTopic = OutboxMessage['topic'];

export const notify = (alertId: string, reason: NotifyReason): OutboxMessage => ({
  topic: 'notify',
  payload: { alertId, reason },
});

/** Open a remediation's ticket (`open`), or read its status from the ticketing system (`poll`, chained by `seq`). */
export interface TicketMessage {
  readonly topic: 'ticket';
  readonly payload:
    | { readonly remediationId: string; readonly kind: 'open' }
    | { readonly remediationId: string; readonly kind: 'poll'; readonly seq: number };
  readonly availableAt?: Date;
}

/** A remediation's clock: the reminder a day before the due date, the overdue check, an exception's expiry. */
export interface RemediationDueMessage {
  readonly topic: 'remediation_due';
  readonly payload: {
    readonly remediationId: string;
    readonly kind: 'reminder' | 'overdue' | 'exception_expiry';
  };
  readonly availableAt?: Date;
}

/** Tell the requester and the routed channel about a remediation (kind and message say what; the worker reads the rest from Postgres). */
export interface RemediationNoticeMessage {
  readonly topic: 'remediation_notice';
  readonly payload: { readonly remediationId: string; readonly kind: string; readonly message: string };
  readonly availableAt?: Date;
}

/** Run step `stepNo` of a page (notify one escalation level) at its due time; see page_steps. */
export interface EscalateMessage {
  readonly topic: 'escalate';
  /** `dueAt`: when the step was due (ISO), to measure and audit how late it ran. */
  readonly payload: { readonly pageId: string; readonly stepNo: number; readonly dueAt: string };
  readonly availableAt?: Date;
}

/** Start the investigation a matching policy asks for, with its playbook (by name) and automation level. */
export interface PolicyInvestigateMessage {
  readonly topic: 'policy_investigate';
  readonly payload: {
    readonly alertId: string;
    readonly policyId: string;
    readonly policyName: string;
    readonly playbook: string;
    readonly automation: 'full' | 'semi' | 'none';
  };
  readonly availableAt?: Date;
}

/** Run an auto-remediating policy's steps on an alert, then resolve it with the policy as actor. */
export interface PolicyRemediateMessage {
  readonly topic: 'policy_remediate';
  readonly payload: { readonly alertId: string; readonly policyId: string };
  readonly availableAt?: Date;
}
