import type { ColumnType, Generated } from 'kysely';

// Table types of the 2026-11-23T1130 migration; `Database` in schema.ts extends these.
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T = unknown> = ColumnType<T, string, string>;
type DefaultJson<T = unknown> = ColumnType<T, string | undefined, string>;

/** Which alerts start an investigation by themselves, with which playbook and automation level. */
export interface InvestigationRulesTable {
  id: Generated<string>;
  name: string;
  source: string | null;
  min_severity: string;
  category: string | null;
  playbook: Json<unknown>;
  automation: string;
  join_window_seconds: Generated<number>;
  enabled: Generated<boolean>;
  created_by: string;
  created_at: DefaultTimestamp;
}

export interface InvestigationsTable {
  id: Generated<string>;
  number: ColumnType<string, never, never>;
  status: Generated<string>;
  trigger_alert_id: string;
  rule_id: string | null;
  /** The rule's playbook, snapshotted when the investigation starts. */
  playbook: Json<unknown>;
  automation: string;
  join_window_seconds: Generated<number>;
  /** Rises when a related alert joins: the playbook runs again for the grown scope. */
  scope_round: Generated<number>;
  started_by: Json;
  started_by_key: string;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
  finished_at: NullableTimestamp;
  /** `playbook`, or `policy_remediation`: an auto-remediating policy's steps (2026-12-01T1900). */
  purpose: Generated<string>;
  policy_id: string | null;
  /** Steps of the policy that found no target on the alert (no action could be made for them). */
  untargeted_steps: Generated<number>;
  /** Set once every action of a policy remediation has settled: `resolved` or `incomplete`. */
  policy_outcome: string | null;
}

export interface InvestigationAlertsTable {
  investigation_id: string;
  alert_id: string;
  reason: string;
  joined_at: DefaultTimestamp;
}

export interface InvestigationEntitiesTable {
  investigation_id: string;
  kind: string;
  key: string;
  display_name: string;
  verdict: Generated<string>;
  why: Generated<string>;
  attributes: DefaultJson<Record<string, unknown>>;
  source_alert_id: string | null;
  updated_at: DefaultTimestamp;
}

export interface StepLogTable {
  id: Generated<string>;
  investigation_id: string;
  step_key: string;
  attempt_scope: string;
  provider: string;
  started_at: Timestamp;
  ended_at: Timestamp;
  outcome: string;
  error: string | null;
  summary: DefaultJson<Record<string, unknown>>;
}

export interface FindingsTable {
  id: Generated<string>;
  investigation_id: string;
  step_key: string;
  attempt_scope: string;
  key: string;
  title: string;
  verdict: string;
  entity_kind: string | null;
  entity_key: string | null;
  details: DefaultJson<Record<string, unknown>>;
  created_at: DefaultTimestamp;
}

export interface ActionsTable {
  id: Generated<string>;
  number: ColumnType<string, never, never>;
  investigation_id: string;
  kind: string;
  target_kind: string;
  target_key: string;
  target_display: string;
  target_count: Generated<number>;
  privileged: Generated<boolean>;
  approvals_needed: Generated<number>;
  reason: string;
  evidence: DefaultJson<Record<string, unknown>>;
  status: string;
  requested_by: Json;
  requested_by_key: string;
  result: ColumnType<unknown, string | null | undefined, string | null>;
  error: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface ActionDecisionsTable {
  id: Generated<string>;
  action_id: string;
  approver: Json;
  approver_key: string;
  decision: string;
  reason: string | null;
  at: DefaultTimestamp;
}

export interface ActionExecutionsTable {
  action_id: string;
  idempotency_key: string;
  executor: string;
  status: Generated<string>;
  attempts: Generated<number>;
  claimed_until: NullableTimestamp;
  response: ColumnType<unknown, string | null | undefined, string | null>;
  error: string | null;
  created_at: DefaultTimestamp;
  finished_at: NullableTimestamp;
}

export interface WatchlistTable {
  id: Generated<string>;
  kind: string;
  value: string;
  verdict: Generated<string>;
  reason: string;
  created_by: string;
  created_at: DefaultTimestamp;
}

export interface InvestigationTables {
  investigation_rules: InvestigationRulesTable;
  investigations: InvestigationsTable;
  investigation_alerts: InvestigationAlertsTable;
  investigation_entities: InvestigationEntitiesTable;
  step_log: StepLogTable;
  findings: FindingsTable;
  actions: ActionsTable;
  action_decisions: ActionDecisionsTable;
  action_executions: ActionExecutionsTable;
  watchlist: WatchlistTable;
}
