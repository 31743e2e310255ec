import { createHash } from 'node:crypto';
import { type GraphAlert, graphClassification, graphFormat } from '../../bot/http/ingest/graph.js';
import type { AlertDraft, AlertStatus, Classification, SourceAlertState } from '../../domain/index.js';

/** One alert as the pull read it: the draft `/ingest/graph` would store, and the state to sync. */
export interface PulledAlert {
  readonly graphId: string;
  /** Graph's `lastUpdateDateTime`; null when unreadable (then the alert is compared field by field every time). */
  readonly lastUpdate: Date | null;
  readonly draft: AlertDraft;
  readonly state: SourceAlertState;
  /** Digest of the mapped evidence: equal digests, equal entities. */
  readonly evidenceHash: string;
}

/** Graph's alert status in Vigil's words; `unknown` and future values have none. */
export function graphStatus(value: string | null | undefined): AlertStatus | null {
  switch (value?.toLowerCase()) {
    case 'new':
      return 'new';
    case 'inprogress':
      return 'in_progress';
    case 'resolved':
      return 'resolved';
    default:
      return null;
  }
}

/** A Graph date, or null when missing or unreadable. */
export const readableDate = (value: string | null | undefined): Date | null => {
  if (value === null || value === undefined) return null;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? null : parsed;
};

/** Determination `unknown` says nothing: it is no determination. */
export const determinationOf = (value: string | null | undefined): string | null =>
  value === null || value === undefined || value === '' || value.toLowerCase() === 'unknown' ? null : value;

/**
 * Maps a Graph alert with the mapping of `/ingest/graph` (same draft, same fingerprint
 * `graph:<id>`, same evidence entities) plus the state a pull syncs.
 */
export function pulledAlert(alert: GraphAlert, receivedAt: Date): PulledAlert {
  const occurrence = graphFormat.toEvents([alert], receivedAt).find((event) => event.kind === 'occurrence');
  if (occurrence?.kind !== 'occurrence') throw new Error(`no occurrence for Graph alert ${alert.id}`);
  const assignedTo =
    typeof alert.assignedTo === 'string' && alert.assignedTo.trim() !== '' ? alert.assignedTo : null;
  const draft = { ...occurrence.draft, determination: determinationOf(alert.determination) };
  return {
    graphId: alert.id,
    evidenceHash: createHash('sha256').update(JSON.stringify(draft.entities)).digest('base64url'),
    lastUpdate: readableDate(alert.lastUpdateDateTime),
    draft,
    state: {
      status: graphStatus(alert.status),
      classification: graphClassification(alert.classification),
      determination: determinationOf(alert.determination),
      assignedTo: assignedTo?.toLowerCase() ?? null,
    },
  };
}

const GRAPH_STATUS: Readonly<Record<AlertStatus, string>> = {
  new: 'new',
  in_progress: 'inProgress',
  resolved: 'resolved',
};
const GRAPH_CLASSIFICATION: Readonly<Record<Classification, string>> = {
  true_positive: 'truePositive',
  false_positive: 'falsePositive',
  informational_expected_activity: 'informationalExpectedActivity',
};

/** Vigil's status and classification in Graph's words, for `PATCH /security/alerts_v2/{id}`. */
export const toGraphStatus = (status: AlertStatus): string => GRAPH_STATUS[status];
export const toGraphClassification = (classification: Classification | null): string =>
  classification === null ? 'unknown' : GRAPH_CLASSIFICATION[classification];
