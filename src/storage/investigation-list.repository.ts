import { sql } from 'kysely';
import type { Actor, InvestigationEntityKind, InvestigationStatus, Severity } from '../domain/index.js';
import type { Db } from './db.js';

/** One line of the investigations list (Microsoft's "Automated investigations" view). */
export interface InvestigationListItem {
  readonly id: string;
  readonly number: string;
  readonly status: InvestigationStatus;
  readonly automation: string;
  readonly startedBy: Actor;
  readonly triggerAlert: {
    readonly id: string;
    readonly number: string;
    readonly title: string;
    readonly severity: Severity;
  };
  readonly alertCount: number;
  readonly entityCount: number;
  readonly pendingActionCount: number;
  /** Actions whose execution failed: an investigation still waiting on others says so beside its status. */
  readonly failedActionCount: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly finishedAt: Date | null;
}

export interface InvestigationFilter {
  readonly statuses?: readonly InvestigationStatus[] | undefined;
  readonly triggerAlertId?: string | undefined;
  /** Investigations that looked at this entity (same kind and key). */
  readonly entity?: { readonly kind: InvestigationEntityKind; readonly key: string } | undefined;
  readonly createdAfter?: Date | undefined;
  readonly createdBefore?: Date | undefined;
  /** Opaque position from the previous page. */
  readonly cursor?: { readonly createdAt: Date; readonly id: string } | undefined;
  readonly limit: number;
}

/**
 * Newest first, keyset-paginated on (created_at, id), which an index serves; each line counts its
 * alerts, entities and actions with correlated subqueries, so only the page's rows are counted.
 */
export async function listInvestigations(
  db: Db,
  filter: InvestigationFilter,
): Promise<InvestigationListItem[]> {
  let query = db
    .selectFrom('investigations as i')
    .innerJoin('alerts as a', 'a.id', 'i.trigger_alert_id')
    .select((eb) => [
      'i.id',
      'i.number',
      'i.status',
      'i.automation',
      'i.started_by',
      'i.created_at',
      'i.updated_at',
      'i.finished_at',
      'a.id as alert_id',
      'a.number as alert_number',
      'a.title as alert_title',
      'a.severity as alert_severity',
      eb
        .selectFrom('investigation_alerts as ia')
        .select(eb.fn.countAll<string>().as('n'))
        .whereRef('ia.investigation_id', '=', 'i.id')
        .as('alert_count'),
      eb
        .selectFrom('investigation_entities as ie')
        .select(eb.fn.countAll<string>().as('n'))
        .whereRef('ie.investigation_id', '=', 'i.id')
        .as('entity_count'),
      eb
        .selectFrom('actions as ac')
        .select(eb.fn.countAll<string>().as('n'))
        .whereRef('ac.investigation_id', '=', 'i.id')
        .where('ac.status', '=', 'pending_approval')
        .as('pending_count'),
      eb
        .selectFrom('actions as ac')
        .select(eb.fn.countAll<string>().as('n'))
        .whereRef('ac.investigation_id', '=', 'i.id')
        .where('ac.status', '=', 'failed')
        .as('failed_count'),
    ]);
  if (filter.statuses?.length) query = query.where('i.status', 'in', filter.statuses);
  if (filter.triggerAlertId !== undefined)
    query = query.where('i.trigger_alert_id', '=', filter.triggerAlertId);
  const entity = filter.entity;
  if (entity !== undefined) {
    query = query.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('investigation_entities as ie')
          .select(sql`1`.as('one'))
          .whereRef('ie.investigation_id', '=', 'i.id')
          .where('ie.kind', '=', entity.kind)
          .where('ie.key', '=', entity.key),
      ),
    );
  }
  if (filter.createdAfter !== undefined) query = query.where('i.created_at', '>=', filter.createdAfter);
  if (filter.createdBefore !== undefined) query = query.where('i.created_at', '<', filter.createdBefore);
  const cursor = filter.cursor;
  if (cursor !== undefined) {
    query = query.where(sql<boolean>`(i.created_at, i.id) < (${cursor.createdAt}, ${cursor.id}::uuid)`);
  }
  const rows = await query
    .orderBy('i.created_at', 'desc')
    .orderBy('i.id', 'desc')
    .limit(filter.limit)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    number: row.number,
    status: row.status as InvestigationStatus,
    automation: row.automation,
    startedBy: row.started_by as Actor,
    triggerAlert: {
      id: row.alert_id,
      number: row.alert_number,
      title: row.alert_title,
      severity: row.alert_severity as Severity,
    },
    alertCount: Number(row.alert_count ?? 0),
    entityCount: Number(row.entity_count ?? 0),
    pendingActionCount: Number(row.pending_count ?? 0),
    failedActionCount: Number(row.failed_count ?? 0),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  }));
}
