import { type Actor, actorKey } from '../actor.js';
import type { AuditEntry } from '../audit.js';
import type { Alert, AlertStatus, Classification } from './alert.js';

/**
 * An alert's state as its source keeps it (Microsoft Defender through Graph): the fields a
 * state sync carries over. `status` null means the source's value has no Vigil equivalent
 * (`unknown`): the status is left as it is.
 */
export interface SourceAlertState {
  readonly status: AlertStatus | null;
  readonly classification: Classification | null;
  readonly determination: string | null;
  /** Who the source says works on it (Graph's `assignedTo`, a UPN), or null. */
  readonly assignedTo: string | null;
}

/** What Vigil last saw of a source alert before this sync: Graph's state of a fresh alert when never seen. */
export const UNSEEN_SOURCE_STATE: SourceAlertState = {
  status: 'new',
  classification: null,
  determination: null,
  assignedTo: null,
};

/** The assignee a source names: a person known by their UPN only (no chat platform yet). */
export const sourceAssignee = (upn: string): Actor => ({ kind: 'user', platform: 'api', id: upn, name: upn });

export interface SourceSync {
  readonly changed: boolean;
  readonly alert: Alert;
  readonly audit: readonly AuditEntry[];
}

const same = <T>(a: T, b: T) => a === b;

/**
 * Carries a source's changes over to the alert. A field is taken only when the source changed it
 * since Vigil last saw it (`seen`) and the alert does not already hold that value, so a Vigil
 * decision the source has not caught up with is not undone by an unrelated change at the source,
 * and Vigil's own change coming back (an echo) changes nothing and keeps its actor. A reopen at
 * the source (resolved → new or in progress) is taken like any other status. Each change is one
 * audit row naming the source as actor.
 */
export function syncFromSource(
  alert: Alert,
  seen: SourceAlertState,
  source: SourceAlertState,
  actor: Actor,
  now: Date,
): SourceSync {
  let next: Alert = alert;
  const audit: AuditEntry[] = [];
  const entry = (action: string, details: Record<string, unknown>) =>
    audit.push({ alertId: alert.id, actor, action, details, at: now });

  const statusMoved = source.status !== null && !same(source.status, seen.status);
  if (statusMoved && source.status !== null && source.status !== alert.status) {
    const resolving = source.status === 'resolved';
    next = {
      ...next,
      status: source.status,
      classification: resolving ? source.classification : null,
      resolutionComment: resolving ? next.resolutionComment : null,
      statusChangedBy: actor,
      statusChangedAt: now,
    };
    entry('alert.status_changed', {
      from: alert.status,
      to: source.status,
      ...(resolving && source.classification !== null ? { classification: source.classification } : {}),
    });
  } else if (
    next.status === 'resolved' &&
    !same(source.classification, seen.classification) &&
    source.classification !== next.classification
  ) {
    next = { ...next, classification: source.classification };
    entry('alert.classified', { from: alert.classification, to: source.classification });
  }
  if (!same(source.determination, seen.determination) && source.determination !== next.determination) {
    next = { ...next, determination: source.determination };
    entry('alert.determination_changed', { from: alert.determination, to: source.determination });
  }
  if (!same(source.assignedTo, seen.assignedTo)) {
    const assignee = source.assignedTo === null ? null : sourceAssignee(source.assignedTo);
    const current = next.assignee === null ? null : actorKey(next.assignee);
    if ((assignee === null ? null : actorKey(assignee)) !== current) {
      next = { ...next, assignee };
      entry('alert.assigned', { assignee, at: 'source' });
    }
  }
  if (audit.length === 0) return { changed: false, alert, audit };
  return { changed: true, alert: { ...next, version: alert.version + 1, updatedAt: now }, audit };
}

/**
 * Does a change to this alert go back to its source? Graph-sourced alerts changed by people and
 * policies do; changes the source itself made (a push, a pull) never do, so nothing echoes.
 */
export const writesBackToSource = (alert: { readonly source: string }, actor: Actor): boolean =>
  alert.source === 'graph' && actor.kind !== 'source';
