import type { ColumnType, Generated } from 'kysely';

// Table types of the 2026-11-23T1200 policies migration, joined into `Database` in schema.ts.

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;
type Json<T = unknown> = ColumnType<T, string, string>;

export interface PoliciesTable {
  id: Generated<string>;
  name: string;
  version: Generated<number>;
  enabled: Generated<boolean>;
  position: Generated<number>;
  spec: Json<Record<string, unknown>>;
  updated_by: string;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface PolicyVersionsTable {
  policy_id: string;
  version: number;
  name: string;
  spec: Json<Record<string, unknown>> | null;
  change: 'created' | 'changed' | 'deleted';
  changed_by: string;
  changed_at: DefaultTimestamp;
}

export interface PolicyGenerationTable {
  id: Generated<boolean>;
  generation: ColumnType<string, string | number, string | number>;
}

export interface SilencesTable {
  id: Generated<string>;
  labels: Json<unknown[]>;
  entities: Json<unknown[]>;
  starts_at: Timestamp;
  ends_at: Timestamp;
  created_by: Json;
  comment: string;
  muted_count: ColumnType<string, string | number | undefined, string | number>;
  created_at: DefaultTimestamp;
}

export interface SchedulesTable {
  id: Generated<string>;
  name: string;
  version: Generated<number>;
  spec: Json<Record<string, unknown>>;
  updated_by: string;
  updated_at: DefaultTimestamp;
}

export interface ScheduleOverridesTable {
  id: Generated<string>;
  schedule_id: string;
  person: Json<Record<string, unknown>>;
  starts_at: Timestamp;
  ends_at: Timestamp;
  created_by: string;
  created_at: DefaultTimestamp;
}

export interface EscalationPoliciesTable {
  id: Generated<string>;
  name: string;
  version: Generated<number>;
  spec: Json<Record<string, unknown>>;
  updated_by: string;
  updated_at: DefaultTimestamp;
}

export interface PagesTable {
  id: Generated<string>;
  alert_id: string;
  escalation_policy_id: string | null;
  escalation_policy: Json<Record<string, unknown>>;
  policy_id: string | null;
  current_step: Generated<number>;
  state: Generated<string>;
  stopped_reason: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface PageStepsTable {
  id: Generated<string>;
  page_id: string;
  step_no: number;
  level: number;
  recipients: Json<unknown[]>;
  delivered: ColumnType<string[], string | undefined, string>;
  due_at: Timestamp;
  started_at: Timestamp;
  finished_at: NullableTimestamp;
}

export interface AlertRoutesTable {
  alert_id: string;
  platform: string;
  target: string;
  policy_id: string | null;
}

export interface PolicyTables {
  policies: PoliciesTable;
  policy_versions: PolicyVersionsTable;
  policy_generation: PolicyGenerationTable;
  silences: SilencesTable;
  schedules: SchedulesTable;
  schedule_overrides: ScheduleOverridesTable;
  escalation_policies: EscalationPoliciesTable;
  pages: PagesTable;
  page_steps: PageStepsTable;
  alert_routes: AlertRoutesTable;
}
