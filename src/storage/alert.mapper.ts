import type {
  Actor,
  Alert,
  AlertEntity,
  AlertStatus,
  Classification,
  EntityKind,
  Severity,
} from '../domain/index.js';
import type { AlertRow, EntityRow } from './schema.js';

/**
 * Every column of `alerts` that `toAlert` reads: all but the source's raw payload, which can be
 * large and which Alert does not carry.
 */
export const ALERT_COLUMNS = [
  'id',
  'number',
  'source',
  'source_id',
  'fingerprint',
  'title',
  'description',
  'severity',
  'category',
  'policy_name',
  'policy_url',
  'vigil_policy_id',
  'vigil_policy_name',
  'muted',
  'silence_id',
  'labels',
  'links',
  'determination',
  'status',
  'classification',
  'resolution_comment',
  'first_seen_at',
  'last_seen_at',
  'occurrence_count',
  'assignee',
  'status_changed_by',
  'status_changed_at',
  'previous_alert_id',
  'incident_id',
  'version',
  'revision',
  'created_at',
  'updated_at',
] as const satisfies readonly Exclude<keyof AlertRow, 'raw'>[];

/** A stored alert row as the domain's Alert (entities loaded apart). */
export function toAlert(
  row: Omit<AlertRow, 'raw'>,
  entities: readonly AlertEntity[] = [],
): Alert & { number: string; revision: number } {
  return {
    id: row.id,
    number: row.number,
    revision: row.revision,
    source: row.source,
    sourceId: row.source_id,
    title: row.title,
    description: row.description,
    severity: row.severity as Severity,
    category: row.category,
    fingerprint: row.fingerprint,
    policyName: row.policy_name,
    policyUrl: row.policy_url,
    entities,
    labels: row.labels,
    links: row.links,
    determination: row.determination,
    status: row.status as AlertStatus,
    classification: row.classification as Classification | null,
    resolutionComment: row.resolution_comment,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
    occurrenceCount: row.occurrence_count,
    assignee: row.assignee as Actor | null,
    statusChangedBy: row.status_changed_by as Actor | null,
    statusChangedAt: row.status_changed_at,
    previousAlertId: row.previous_alert_id,
    vigilPolicy:
      row.vigil_policy_id === null ? null : { id: row.vigil_policy_id, name: row.vigil_policy_name ?? '' },
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toEntity(row: EntityRow): AlertEntity {
  return {
    kind: row.kind as EntityKind,
    key: row.key,
    displayName: row.display_name,
    roles: row.roles,
    attributes: row.attributes,
  };
}

export const json = (value: unknown): string => JSON.stringify(value);
