import type { ColumnType } from 'kysely';

type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;

/** One pull stream from Microsoft Graph (see the 2026-12-01T1600 migration). */
export interface GraphSyncTable {
  stream: string;
  /** Graph alerts updated at or after this (less the overlap) are pulled by the next chain. */
  watermark: NullableTimestamp;
  /** The nextLink after the last committed page of the chain under way; null between chains. */
  chain_next_link: string | null;
  /** The watermark the chain under way sets when its last page is committed. */
  chain_until: NullableTimestamp;
  lease_owner: string | null;
  lease_until: NullableTimestamp;
  pulled_total: ColumnType<string, string | number | undefined, string | number>;
  skipped_total: ColumnType<string, string | number | undefined, string | number>;
  last_error: string | null;
  updated_at: DefaultTimestamp;
}

/** What Vigil last saw of one Graph alert (its state at `last_update_at`, Graph's `lastUpdateDateTime`). */
export interface GraphAlertStateTable {
  graph_id: string;
  alert_id: string;
  last_update_at: NullableTimestamp;
  status: string | null;
  classification: string | null;
  determination: string | null;
  assigned_to: string | null;
  /** The write-back job that holds this alert, and until when (2026-12-01T1610). */
  writeback_owner: string | null;
  writeback_until: NullableTimestamp;
  /** The last audit row whose comment is on the Graph alert. */
  comments_through: ColumnType<string, string | number | undefined, string | number>;
  /** Why the last write-back failed for good (a missing permission...), or null. */
  writeback_error: string | null;
  /** Digest of the evidence last applied (2026-12-01T1620): the same evidence is not rewritten. */
  evidence_hash: string | null;
  updated_at: DefaultTimestamp;
}

/** A Defender incident in Vigil, keyed by Graph's incident ID (2026-12-01T2000); its alerts point at it. */
export interface IncidentsTable {
  id: ColumnType<string, string | undefined, never>;
  graph_id: string;
  display_name: string | null;
  severity: string | null;
  web_url: string | null;
  /** What Graph last said (Graph's own words), at `last_update_at` (Graph's `lastUpdateDateTime`). */
  graph_status: string | null;
  graph_classification: string | null;
  graph_determination: string | null;
  graph_assigned_to: string | null;
  last_update_at: NullableTimestamp;
  /** The write-back job that holds this incident, and until when. */
  writeback_owner: string | null;
  writeback_until: NullableTimestamp;
  /** Why the last write-back failed for good (a missing permission...), or null. */
  writeback_error: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

/**
 * How many alerts of an incident are in each status (2026-12-02T1900): written only by triggers on
 * `alerts`, at commit; an incident none of whose alerts was ever counted has no row.
 */
export interface IncidentStatusCountsTable {
  incident_id: ColumnType<string, never, never>;
  new_count: ColumnType<number, never, never>;
  in_progress_count: ColumnType<number, never, never>;
  resolved_count: ColumnType<number, never, never>;
}

export interface GraphTables {
  incidents: IncidentsTable;
  incident_status_counts: IncidentStatusCountsTable;
  graph_sync: GraphSyncTable;
  graph_alert_state: GraphAlertStateTable;
}
