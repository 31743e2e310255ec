import { type AlertStatus, STATUS_LABELS } from './alert.js';

/**
 * A Vigil incident's status, read from its alerts: resolved when every alert is, new while
 * every alert is, else in progress. An incident whose alerts Vigil has not seen yet is new.
 */
export function incidentStatus(statuses: readonly AlertStatus[]): AlertStatus {
  if (statuses.length > 0 && statuses.every((status) => status === 'resolved')) return 'resolved';
  if (statuses.every((status) => status === 'new')) return 'new';
  return 'in_progress';
}

const GRAPH_INCIDENT_STATUS: Readonly<Record<AlertStatus, string>> = {
  new: 'active',
  in_progress: 'inProgress',
  resolved: 'resolved',
};

/** Vigil's status in the words of Graph's `incident.status` (active, inProgress, resolved). */
export const toGraphIncidentStatus = (status: AlertStatus): string => GRAPH_INCIDENT_STATUS[status];

/** How an incident's alerts stand, in words for a card: `3 alerts: 2 New, 1 Resolved`. */
export function incidentAlertsLine(incident: {
  readonly alertCount: number;
  readonly alertStatuses: Readonly<Record<AlertStatus, number>>;
}): string {
  const parts = (Object.keys(STATUS_LABELS) as AlertStatus[])
    .filter((status) => incident.alertStatuses[status] > 0)
    .map((status) => `${incident.alertStatuses[status]} ${STATUS_LABELS[status]}`);
  const count = `${incident.alertCount} alert${incident.alertCount === 1 ? '' : 's'}`;
  return parts.length === 0 ? count : `${count}: ${parts.join(', ')}`;
}
