import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { GraphTables } from './graph.tables.js';
import type { InvestigationTables } from './investigation.tables.js';
import type { PersonTables } from './person.tables.js';
import type { PolicyTables } from './policy.tables.js';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;
type Json<T = unknown> = ColumnType<T, string, string>;

export interface AlertsTable {
  id: Generated<string>;
  number: ColumnType<string, never, never>;
  source: string;
  source_id: string | null;
  fingerprint: string;
  title: string;
  description: string;
  severity: string;
  category: string | null;
  policy_name: string | null;
  policy_url: string | null;
  vigil_policy_id: ColumnType<string | null, string | null | undefined, string | null>;
  vigil_policy_name: ColumnType<string | null, string | null | undefined, string | null>;
  /** A silence matched at ingest: stored and counted, never posted or paged (2026-11-23T1200). */
  muted: Generated<boolean>;
  silence_id: string | null;
  labels: Json<Record<string, string>>;
  links: Json<{ title: string; url: string }[]>;
  determination: string | null;
  status: Generated<string>;
  classification: string | null;
  resolution_comment: string | null;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
  occurrence_count: Generated<number>;
  assignee: Json | null;
  status_changed_by: Json | null;
  status_changed_at: NullableTimestamp;
  previous_alert_id: string | null;
  /** The Defender incident the alert belongs to (2026-12-01T2000). */
  incident_id: ColumnType<string | null, string | null | undefined, string | null>;
  raw: Json | null;
  /** Rises with every state change a person acts on (status, assignee); stale clicks are refused on it. */
  version: Generated<number>;
  /** Rises with every change at all, occurrences included; cards re-render when theirs is behind. */
  revision: Generated<number>;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface AlertEntitiesTable {
  alert_id: string;
  kind: string;
  key: string;
  display_name: string;
  roles: Json<string[]>;
  attributes: Json<Record<string, unknown>>;
}

export interface AuditLogTable {
  id: Generated<string>;
  alert_id: string | null;
  actor: Json;
  actor_key: string;
  /** The person behind a user actor (2026-12-01T1700_persons). */
  person_id: string | null;
  action: string;
  details: Json<Record<string, unknown>>;
  at: DefaultTimestamp;
}

export interface OutboxTable {
  id: Generated<string>;
  topic: string;
  payload: Json<Record<string, unknown>>;
  created_at: DefaultTimestamp;
  available_at: DefaultTimestamp;
  enqueued_at: NullableTimestamp;
  completed_at: NullableTimestamp;
  failed_at: NullableTimestamp;
  last_error: string | null;
  /** Pending rows with one key coalesce (notify: `notify:<alertId>`); null never coalesces. */
  dedupe_key: string | null;
  /** Requests folded into this row; the job completes it only if this has not moved meanwhile. */
  requested: Generated<number>;
  /** The job it was handed to when that is not its own (`jobIdFor(id)`): notify rows share jobs. */
  job_id: string | null;
}

export interface CardsTable {
  id: Generated<string>;
  alert_id: string;
  platform: string;
  target: string;
  message_ref: string | null;
  rendered_revision: Generated<number>;
  /** The incident section it showed (see `cardIncidentKey`), or null when it showed none (2026-12-02T1300). */
  rendered_incident: string | null;
  /** `posting` (claimed for its first post, no message yet), `active`, `failed`. */
  state: Generated<string>;
  error: string | null;
  /** The token of the claim in progress (one per claim), with its lease. */
  claimed_by: string | null;
  lease_until: NullableTimestamp;
  /** Set just before the platform was first asked to post: a message may exist from then on. */
  post_attempted_at: NullableTimestamp;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

/** Chat platforms this install has delivered to (see the 2026-12-01T1000 migration). */
export interface NotifyPlatformsTable {
  platform: string;
  first_seen_at: DefaultTimestamp;
}

/** Which chat channels get which alerts (Slack today); empty matchers match everything. */
export interface ChatRoutesTable {
  id: Generated<string>;
  platform: string;
  channel: string;
  sources: ColumnType<string[], string[] | undefined, string[]>;
  min_severity: string | null;
  labels: ColumnType<Record<string, string>, string | undefined, string>;
  position: Generated<number>;
  created_by: string;
  created_at: DefaultTimestamp;
}

/** The last audit row a Slack card's thread was told about. */
export interface SlackThreadNotesTable {
  alert_id: string;
  channel: string;
  last_audit_id: string;
  updated_at: DefaultTimestamp;
}

/** A Teams conversation the bot is in (see the 2026-11-23T1030 migration). */
export interface TeamsConversationsTable {
  id: string;
  kind: string;
  service_url: string;
  tenant_id: string | null;
  team_id: string | null;
  channel_id: string | null;
  name: string | null;
  bot_id: string | null;
  user_aad_object_id: string | null;
  active: Generated<boolean>;
  inactive_reason: string | null;
  subscribed: Generated<boolean>;
  min_severity: string | null;
  sources: string[] | null;
  subscribed_by: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

/** Remediation requests and their tickets (see the 2026-11-23T1100 migration). */
export interface RemediationsTable {
  id: Generated<string>;
  number: ColumnType<string, never, never>;
  subject_kind: string;
  recommendation: string;
  action_ref: string | null;
  alert_id: string | null;
  devices: Json<string[]>;
  device_count: number;
  devices_left: number;
  due_at: Timestamp;
  priority: string;
  notes: string;
  requester: Json;
  requester_key: string;
  status: Generated<string>;
  connector: string | null;
  external_id: string | null;
  external_url: string | null;
  idempotency_key: string;
  exception_reason: string | null;
  exception_justification: string | null;
  exception_expires_at: NullableTimestamp;
  exception_filed_by: Json | null;
  exception_filed_at: NullableTimestamp;
  completed_at: NullableTimestamp;
  completed_by: Json | null;
  completion_comment: ColumnType<string | null, string | null | undefined, string | null>;
  /** The poll chain's current link: a poll job whose seq is behind is a duplicate and stops. */
  poll_seq: Generated<number>;
  version: Generated<number>;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

/** Vigil's tables; investigations' tables live beside their repository (investigation.tables.ts). */
export interface Database extends InvestigationTables, PolicyTables, GraphTables, PersonTables {
  alerts: AlertsTable;
  alert_entities: AlertEntitiesTable;
  audit_log: AuditLogTable;
  outbox: OutboxTable;
  cards: CardsTable;
  notify_platforms: NotifyPlatformsTable;
  teams_conversations: TeamsConversationsTable;
  chat_routes: ChatRoutesTable;
  slack_thread_notes: SlackThreadNotesTable;
  remediations: RemediationsTable;
  remediation_notice_deliveries: RemediationNoticeDeliveriesTable;
}

/** Where each remediation notice went, per platform and destination (see the 2026-12-01T1910 migration). */
export interface RemediationNoticeDeliveriesTable {
  outbox_id: string;
  platform: string;
  destination: string;
  remediation_id: string;
  kind: string;
  error: string | null;
  delivered_at: DefaultTimestamp;
  /** Where a notice with buttons was posted, to take them away later (2026-12-02T1600). */
  message_ref: ColumnType<string | null, string | null | undefined, string | null>;
  /** That notice's sentence, to show it again without its buttons. */
  message: ColumnType<string | null, string | null | undefined, string | null>;
}

export type AlertRow = Selectable<AlertsTable>;
export type NewAlertRow = Insertable<AlertsTable>;
export type AlertUpdate = Updateable<AlertsTable>;
export type EntityRow = Selectable<AlertEntitiesTable>;
export type AuditRow = Selectable<AuditLogTable>;
export type CardRow = Selectable<CardsTable>;
export type RemediationRow = Selectable<RemediationsTable>;
