import { sql } from 'kysely';
import {
  type Actor,
  type AlertStatus,
  authorize,
  type CardIncident,
  type Classification,
  type Clock,
  type Determination,
  fail,
  graphIncidentWriteBack,
  incidentStatus,
  notify,
  ok,
  type Result,
  type Role,
  type Severity,
  writesBackToSource,
} from '../domain/index.js';
import type { PulledIncident } from '../integrations/microsoft/graph-incidents.js';
import { type AlertChangeOutcome, changeAlertIn, notifyIncidentSiblings } from './alert.repository.js';
import type { Db, DbHandle } from './db.js';
import { appendOutbox } from './outbox.repository.js';

/** One alert of an incident, as its card, the API and the console show it. */
export interface IncidentAlert {
  readonly id: string;
  readonly number: string;
  readonly title: string;
  readonly severity: Severity;
  readonly status: AlertStatus;
  readonly classification: Classification | null;
  readonly determination: string | null;
}

export interface IncidentView {
  readonly id: string;
  readonly graphId: string;
  readonly displayName: string | null;
  readonly severity: string | null;
  readonly webUrl: string | null;
  /** Read from its alerts (see the domain's `incidentStatus`). */
  readonly status: AlertStatus;
  readonly alertCount: number;
  /** How many of its alerts are in each status. */
  readonly alertStatuses: Readonly<Record<AlertStatus, number>>;
  /** What Defender last said of it, in Graph's words. */
  readonly defender: {
    readonly status: string | null;
    readonly classification: string | null;
    readonly determination: string | null;
    readonly assignedTo: string | null;
    readonly lastUpdateAt: Date | null;
  };
  readonly writeBackError: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** An alert moved into an incident, and the incident it was in before (null for none). */
interface MovedAlert {
  readonly id: string;
  readonly formerIncidentId: string | null;
}

const formerIncidents = (moved: readonly MovedAlert[]): string[] => [
  ...new Set(moved.flatMap((row) => (row.formerIncidentId === null ? [] : [row.formerIncidentId]))),
];

/**
 * Puts newly stored Graph alerts that carry an `incidentId` into their incident, creating the
 * incident on first sight. Inside the ingest transaction; two statements, and none at all for
 * batches with no such alert. Incidents are created in Graph-ID order, so concurrent batches
 * lock alike.
 */
export async function joinIncidents(
  trx: Db,
  alerts: readonly { readonly alertId: string; readonly incidentGraphId: string | undefined }[],
  now: Date,
): Promise<void> {
  const members = alerts.filter(
    (alert) => alert.incidentGraphId !== undefined && alert.incidentGraphId !== '',
  );
  if (members.length === 0) return;
  const graphIds = [...new Set(members.map((alert) => alert.incidentGraphId as string))].sort();
  await trx
    .insertInto('incidents')
    .values(graphIds.map((graph_id) => ({ graph_id, created_at: now, updated_at: now })))
    .onConflict((oc) => oc.column('graph_id').doNothing())
    .execute();
  const moved = await sql<MovedAlert>`UPDATE alerts SET incident_id = incidents.id
    FROM incidents, jsonb_to_recordset(${JSON.stringify(members)}::jsonb) AS m("alertId" uuid, "incidentGraphId" text),
      alerts AS before
    WHERE alerts.id = m."alertId" AND incidents.graph_id = m."incidentGraphId" AND before.id = alerts.id
      AND alerts.incident_id IS DISTINCT FROM incidents.id
    RETURNING alerts.id, before.incident_id AS "formerIncidentId"`.execute(trx);
  // The incident has one alert more: its other alerts' cards count it (and an incident left, one fewer).
  await notifyIncidentSiblings(
    trx,
    members.map((alert) => alert.alertId),
    [],
    formerIncidents(moved.rows),
  );
}

/**
 * Stores pulled incidents (created on first sight, else brought up to what Defender says) and
 * puts the Vigil alerts of their Graph alerts into them. Inside the page's transaction.
 */
export async function upsertPulledIncidents(
  trx: Db,
  incidents: readonly PulledIncident[],
  now: Date,
): Promise<void> {
  if (incidents.length === 0) return;
  const sorted = [...incidents].sort((a, b) => (a.graphId < b.graphId ? -1 : 1));
  await trx
    .insertInto('incidents')
    .values(
      sorted.map((incident) => ({
        graph_id: incident.graphId,
        display_name: incident.displayName,
        severity: incident.severity,
        web_url: incident.webUrl,
        graph_status: incident.status,
        graph_classification: incident.classification,
        graph_determination: incident.determination,
        graph_assigned_to: incident.assignedTo,
        last_update_at: incident.lastUpdate,
        created_at: now,
        updated_at: now,
      })),
    )
    .onConflict((oc) =>
      oc
        .column('graph_id')
        .doUpdateSet({
          display_name: sql`excluded.display_name`,
          severity: sql`excluded.severity`,
          web_url: sql`excluded.web_url`,
          graph_status: sql`excluded.graph_status`,
          graph_classification: sql`excluded.graph_classification`,
          graph_determination: sql`excluded.graph_determination`,
          graph_assigned_to: sql`excluded.graph_assigned_to`,
          last_update_at: sql`excluded.last_update_at`,
          updated_at: sql`excluded.updated_at`,
        })
        // A page from an older window (overlap) never moves an incident back.
        .where(sql<boolean>`incidents.last_update_at IS NULL OR excluded.last_update_at IS NULL
        OR excluded.last_update_at > incidents.last_update_at`),
    )
    .execute();
  const members = sorted.flatMap((incident) =>
    incident.alertIds.map((alertId) => ({ fingerprint: `graph:${alertId}`, incident: incident.graphId })),
  );
  if (members.length === 0) return;
  const joined = await sql<MovedAlert>`UPDATE alerts SET incident_id = incidents.id
    FROM incidents, jsonb_to_recordset(${JSON.stringify(members)}::jsonb) AS m(fingerprint text, incident text),
      alerts AS before
    WHERE alerts.fingerprint = m.fingerprint AND incidents.graph_id = m.incident AND before.id = alerts.id
      AND alerts.incident_id IS DISTINCT FROM incidents.id
    RETURNING alerts.id, before.incident_id AS "formerIncidentId"`.execute(trx);
  // Alerts that joined an incident now show it on their cards, its other alerts count them, and
  // the alerts of an incident one of them left count one fewer.
  const ids = joined.rows.map((row) => row.id);
  await appendOutbox(
    trx,
    ids.map((id) => notify(id, 'incident')),
  );
  await notifyIncidentSiblings(trx, ids, [], formerIncidents(joined.rows));
}

export interface IncidentFilter {
  readonly status?: readonly AlertStatus[] | undefined;
  readonly cursor?: { readonly createdAt: Date; readonly id: string } | undefined;
  readonly limit: number;
}

const ZERO: Record<AlertStatus, number> = { new: 0, in_progress: 0, resolved: 0 };

/** Incidents with their alerts' statuses as the counts triggers keep them: one row read per incident. */
function incidentQuery(db: Db) {
  return db
    .selectFrom('incidents')
    .leftJoin('incident_status_counts as counts', 'counts.incident_id', 'incidents.id')
    .selectAll('incidents')
    .select([
      sql<number>`coalesce(counts.new_count, 0)`.as('new_count'),
      sql<number>`coalesce(counts.in_progress_count, 0)`.as('in_progress_count'),
      sql<number>`coalesce(counts.resolved_count, 0)`.as('resolved_count'),
    ]);
}

type IncidentRow = Awaited<ReturnType<ReturnType<typeof incidentQuery>['executeTakeFirstOrThrow']>>;

function toIncidentView(row: IncidentRow): IncidentView {
  const alertStatuses = {
    ...ZERO,
    new: row.new_count,
    in_progress: row.in_progress_count,
    resolved: row.resolved_count,
  };
  // One of each status present says as much to incidentStatus as every alert's, without a list
  // as long as the incident (read for every card of its alerts).
  const statuses = (Object.keys(alertStatuses) as AlertStatus[]).filter(
    (status) => alertStatuses[status] > 0,
  );
  return {
    id: row.id,
    graphId: row.graph_id,
    displayName: row.display_name,
    severity: row.severity,
    webUrl: row.web_url,
    status: incidentStatus(statuses),
    alertCount: row.new_count + row.in_progress_count + row.resolved_count,
    alertStatuses,
    defender: {
      status: row.graph_status,
      classification: row.graph_classification,
      determination: row.graph_determination,
      assignedTo: row.graph_assigned_to,
      lastUpdateAt: row.last_update_at,
    },
    writeBackError: row.writeback_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The derived status as SQL over the counts (see `incidentStatus`). */
const STATUS_SQL = sql<string>`CASE
  WHEN coalesce(counts.resolved_count, 0) > 0 AND coalesce(counts.new_count, 0) + coalesce(counts.in_progress_count, 0) = 0 THEN 'resolved'
  WHEN coalesce(counts.in_progress_count, 0) + coalesce(counts.resolved_count, 0) = 0 THEN 'new'
  ELSE 'in_progress' END`;

/** Newest first, keyset-paginated on (created_at, id). */
export async function listIncidents(db: Db, filter: IncidentFilter): Promise<IncidentView[]> {
  const rows = await incidentQuery(db)
    .$if(filter.cursor !== undefined, (query) => {
      const cursor = filter.cursor as { createdAt: Date; id: string };
      return query.where(
        sql<boolean>`(incidents.created_at, incidents.id) < (${cursor.createdAt}, ${cursor.id})`,
      );
    })
    .$if(filter.status !== undefined && filter.status.length > 0, (query) =>
      query.where(STATUS_SQL, 'in', filter.status as AlertStatus[]),
    )
    .orderBy('incidents.created_at', 'desc')
    .orderBy('incidents.id', 'desc')
    .limit(filter.limit)
    .execute();
  return rows.map(toIncidentView);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An incident by its Vigil ID or by Graph's incident ID. */
export async function getIncident(db: Db, ref: string): Promise<IncidentView | null> {
  const row = await incidentQuery(db)
    .where(UUID.test(ref) ? 'incidents.id' : 'incidents.graph_id', '=', ref)
    .executeTakeFirst();
  return row === undefined ? null : toIncidentView(row);
}

/** The incident's alerts, by number (oldest first), with their states. */
export async function incidentAlerts(db: Db, incidentId: string): Promise<IncidentAlert[]> {
  const rows = await db
    .selectFrom('alerts')
    .select(['id', 'number', 'title', 'severity', 'status', 'classification', 'determination'])
    .where('incident_id', '=', incidentId)
    .orderBy('number')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    number: row.number,
    title: row.title,
    severity: row.severity as Severity,
    status: row.status as AlertStatus,
    classification: row.classification as Classification | null,
    determination: row.determination,
  }));
}

export interface IncidentResolution {
  readonly classification: Classification;
  readonly determination?: Determination | undefined;
  readonly comment?: string | undefined;
}

export interface IncidentResolveOutcome {
  /** Alerts this resolution moved (those already resolved are left as they were). */
  readonly resolved: readonly AlertChangeOutcome[];
  readonly refused: readonly { readonly alertId: string; readonly reason: string }[];
}

/**
 * "Resolve incident": every open alert of the incident resolved with one classification, in
 * one transaction, each with its audit row, notify row and (for Graph alerts changed by a
 * person or policy) its write-back; and the incident's own write-back in the same transaction.
 * Alerts are locked in ID order, so this and single-alert changes lock alike. Idempotent: run
 * again, it finds nothing open and changes nothing.
 */
export async function resolveIncident(
  handle: DbHandle,
  incidentId: string,
  actor: Actor,
  role: Role,
  clock: Clock,
  resolution: IncidentResolution,
): Promise<Result<IncidentResolveOutcome>> {
  const allowed = authorize(role, 'alert.change_status');
  if (!allowed.ok) return allowed;
  return handle.db.transaction().execute(async (trx) => {
    const incident = await trx
      .selectFrom('incidents')
      .select('id')
      .where('id', '=', incidentId)
      .forUpdate()
      .executeTakeFirst();
    if (incident === undefined) return fail('incident.not_found', `No incident ${incidentId}.`);
    const alerts = await trx
      .selectFrom('alerts')
      .select(['id', 'source'])
      .where('incident_id', '=', incidentId)
      .where('status', '<>', 'resolved')
      .orderBy('id')
      .execute();
    const now = clock.now();
    const resolved: AlertChangeOutcome[] = [];
    const refused: { alertId: string; reason: string }[] = [];
    for (const alert of alerts) {
      const outcome = await changeAlertIn(
        trx,
        alert.id,
        actor,
        now,
        {
          type: 'status',
          request: { action: 'resolve', ...resolution },
        },
        { incidentFollowUps: false },
      );
      if (!outcome.ok) refused.push({ alertId: alert.id, reason: outcome.error.message });
      else if (outcome.value.changed) resolved.push(outcome.value);
    }
    if (resolved.some((outcome) => writesBackToSource(outcome.alert, actor)))
      await appendOutbox(trx, [graphIncidentWriteBack(incidentId)]);
    await notifyIncidentSiblings(
      trx,
      resolved.map((outcome) => outcome.alert.id),
    );
    return ok({ resolved, refused });
  });
}

/** The incident section as a card shows it, as one string to compare (`cards.rendered_incident`); null for none. */
export const cardIncidentKey = (incident: CardIncident | null | undefined): string | null =>
  incident === null || incident === undefined
    ? null
    : JSON.stringify([
        incident.id,
        incident.name,
        incident.alertCount,
        incident.alertStatuses,
        incident.status,
      ]);

/** The incident of an alert as its card shows it, or null when it belongs to none. */
export async function cardIncident(db: Db, alertId: string): Promise<CardIncident | null> {
  const row = await incidentQuery(db)
    .innerJoin('alerts', 'alerts.incident_id', 'incidents.id')
    .where('alerts.id', '=', alertId)
    .executeTakeFirst();
  return row === undefined ? null : toCardIncident(toIncidentView(row));
}

/** An incident as its alerts' cards show it, by its ID (the alert's `incident_id`, already read). */
export async function cardIncidentById(db: Db, incidentId: string): Promise<CardIncident | null> {
  const row = await incidentQuery(db).where('incidents.id', '=', incidentId).executeTakeFirst();
  return row === undefined ? null : toCardIncident(toIncidentView(row));
}

/** `cardIncidentById` for several incidents in one query, keyed by ID (an ID not found is missing). */
export async function cardIncidentsByIds(
  db: Db,
  incidentIds: readonly string[],
): Promise<Map<string, CardIncident>> {
  if (incidentIds.length === 0) return new Map();
  const rows = await incidentQuery(db).where('incidents.id', 'in', incidentIds).execute();
  return new Map(rows.map((row) => [row.id, toCardIncident(toIncidentView(row))]));
}

const toCardIncident = (incident: IncidentView): CardIncident => ({
  id: incident.id,
  name: incident.displayName ?? `Defender incident ${incident.graphId}`,
  alertCount: incident.alertCount,
  alertStatuses: incident.alertStatuses,
  status: incident.status,
});
