import type { AlertStatus } from './alert.js';

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
