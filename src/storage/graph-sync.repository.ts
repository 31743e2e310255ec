import { type Selectable, sql } from 'kysely';
import {
  type Actor,
  type AlertStatus,
  type AuditEntry,
  type Classification,
  type Clock,
  groupOccurrences,
  notify,
  type OutboxMessage,
  type SourceAlertState,
  syncFromSource,
  UNSEEN_SOURCE_STATE,
} from '../domain/index.js';
import type { PulledAlert } from '../integrations/microsoft/graph-alerts.js';
import type { PulledIncident } from '../integrations/microsoft/graph-incidents.js';
import { ALERT_COLUMNS, json, toAlert } from './alert.mapper.js';
import { notifyIncidentSiblings } from './alert.repository.js';
import { storeOccurrences } from './alert-ingest.repository.js';
import { appendAudit } from './audit.repository.js';
import { type Db, type DbHandle, prepared } from './db.js';
import type { GraphAlertStateTable } from './graph.tables.js';
import { upsertPulledIncidents } from './incident.repository.js';
import { appendOutbox } from './outbox.repository.js';
import type { AlertRow } from './schema.js';

/** Changes pulled from Microsoft Defender name it as their actor. */
export const DEFENDER_ACTOR: Actor = { kind: 'source', source: 'defender' };

export const ALERTS_STREAM = 'alerts';
export const INCIDENTS_STREAM = 'incidents';

/** The pull's position, as a claim gives it to the one runner. */
export interface PullPosition {
  readonly watermark: Date | null;
  readonly nextLink: string | null;
  readonly chainUntil: Date | null;
}

/**
 * Takes the stream's lease for `leaseMs` (one runner across processes), or null when another
 * runner holds it. A short transaction: the caller calls Graph after it committed.
 */
export async function claimPull(
  handle: DbHandle,
  stream: string,
  owner: string,
  leaseMs: number,
  clock: Clock,
): Promise<PullPosition | null> {
  const now = clock.now();
  return handle.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('graph_sync')
      .values({ stream })
      .onConflict((oc) => oc.doNothing())
      .execute();
    const row = await trx
      .selectFrom('graph_sync')
      .selectAll()
      .where('stream', '=', stream)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (
      row.lease_owner !== null &&
      row.lease_owner !== owner &&
      row.lease_until !== null &&
      row.lease_until > now
    )
      return null;
    await trx
      .updateTable('graph_sync')
      .set({ lease_owner: owner, lease_until: new Date(now.getTime() + leaseMs), updated_at: now })
      .where('stream', '=', stream)
      .execute();
    return { watermark: row.watermark, nextLink: row.chain_next_link, chainUntil: row.chain_until };
  });
}

/** The runner lost its lease (it ran past it and another took over): it stops without recording. */
export class PullLeaseLostError extends Error {
  readonly code = 'graph.pull_lease_lost';
}

export interface PageRecord {
  readonly owner: string;
  readonly leaseMs: number;
  /** The chain's next page, or null when this page was its last. */
  readonly nextLink: string | null;
  /** The watermark the chain sets once complete. */
  readonly chainUntil: Date;
  readonly pulled: number;
  readonly skipped: number;
}

export interface PageOutcome {
  readonly created: number;
  readonly changed: number;
  readonly unchanged: number;
}

/**
 * Applies one page of pulled alerts as a state sync keyed by the Graph alert ID, then records
 * the chain's position. Alerts Vigil has never seen are stored first as occurrences (the same
 * path as `/ingest/graph`: policies, investigations, cards). Then one transaction syncs the page:
 * an alert whose Graph `lastUpdateDateTime` is not newer than the one last applied is left
 * alone (no revision, no audit row, no card refresh); a newer one has its status,
 * classification, determination, assignee and evidence brought over (see `syncFromSource`),
 * with Defender as actor; and the same transaction stores the nextLink (or, after the chain's
 * last page, the new watermark), so a crash resumes at the first page not committed. Set-based:
 * a handful of statements per page, whatever its size.
 */
export async function applyPulledPage(
  handle: DbHandle,
  stream: string,
  alerts: readonly PulledAlert[],
  page: PageRecord,
  clock: Clock,
): Promise<PageOutcome> {
  const latest = latestPerId(alerts);
  const fresh = await unseen(handle.db, latest);
  if (fresh.length > 0)
    await storeOccurrences(handle, groupOccurrences(fresh.map((alert) => alert.draft)), clock);
  const now = clock.now();
  return handle.db.transaction().execute(async (trx) => {
    const changed = await syncPage(trx, latest, new Set(fresh.map((alert) => alert.graphId)), now);
    await recordPage(trx, stream, page, now);
    return { created: fresh.length, changed, unchanged: latest.length - changed };
  });
}

/** Stores a page of pulled incidents and the chain's position, in one transaction (see `applyPulledPage`). */
export async function applyIncidentPage(
  handle: DbHandle,
  stream: string,
  incidents: readonly PulledIncident[],
  page: PageRecord,
  clock: Clock,
): Promise<void> {
  const now = clock.now();
  await handle.db.transaction().execute(async (trx) => {
    await upsertPulledIncidents(trx, incidents, now);
    await recordPage(trx, stream, page, now);
  });
}

/**
 * Records a committed page: the chain's next link, or after its last page the new watermark;
 * the counters; a renewed lease. Fails when the lease passed to another runner.
 */
async function recordPage(trx: Db, stream: string, page: PageRecord, now: Date): Promise<void> {
  const recorded = await trx
    .updateTable('graph_sync')
    .set({
      chain_next_link: page.nextLink,
      chain_until: page.nextLink === null ? null : page.chainUntil,
      ...(page.nextLink === null ? { watermark: page.chainUntil } : {}),
      pulled_total: sql`pulled_total + ${page.pulled}`,
      skipped_total: sql`skipped_total + ${page.skipped}`,
      lease_until: new Date(now.getTime() + page.leaseMs),
      last_error: null,
      updated_at: now,
    })
    .where('stream', '=', stream)
    .where('lease_owner', '=', page.owner)
    .executeTakeFirst();
  if (Number(recorded.numUpdatedRows) === 0)
    throw new PullLeaseLostError(`the ${stream} pull lease passed to another runner`);
}

/**
 * Graph's `lastUpdateDateTime` last applied, per Graph ID, read without locks: the pull maps
 * only the alerts that may have changed (the sync checks again under lock).
 */
export async function lastApplied(db: Db, graphIds: readonly string[]): Promise<Map<string, Date | null>> {
  if (graphIds.length === 0) return new Map();
  const { rows } = await db.executeQuery<{ graph_id: string; last_update_at: Date | null }>(
    readLastApplied(graphIds),
  );
  return new Map(rows.map((row) => [row.graph_id, row.last_update_at]));
}

// A page's worth of IDs goes as one array parameter: one statement text for any page (see `prepared`).
// Each key is looked up on its own (LATERAL with LIMIT or FOR UPDATE, which the planner keeps apart),
// so the plan Postgres caches for the connection probes the index even if it was made while the table
// was empty; `= ANY($1)` would be planned as a scan of the whole table then, and stay one.
const readLastApplied = prepared(
  'vigil_graph_last_applied',
  `SELECT s.graph_id, s.last_update_at FROM unnest($1::text[]) AS k(graph_id)
    CROSS JOIN LATERAL (SELECT graph_id, last_update_at FROM graph_alert_state WHERE graph_id = k.graph_id LIMIT 1) s`,
);
const readKnownFingerprints = prepared(
  'vigil_graph_known_fingerprints',
  `SELECT DISTINCT k.fingerprint FROM unnest($1::text[]) AS k(fingerprint)
    CROSS JOIN LATERAL (SELECT 1 FROM alerts WHERE fingerprint = k.fingerprint LIMIT 1) a`,
);
const lockStates = prepared(
  'vigil_graph_lock_states',
  `SELECT s.* FROM (SELECT DISTINCT unnest($1::text[]) AS graph_id ORDER BY 1) k
    CROSS JOIN LATERAL (SELECT * FROM graph_alert_state WHERE graph_id = k.graph_id FOR UPDATE) s`,
);
/** The latest alert of each fingerprint. */
const readAlertIds = prepared(
  'vigil_graph_alert_ids',
  `SELECT a.id, k.fingerprint FROM unnest($1::text[]) AS k(fingerprint)
    CROSS JOIN LATERAL (SELECT id FROM alerts WHERE fingerprint = k.fingerprint ORDER BY created_at DESC LIMIT 1) a`,
);
const lockAlerts = prepared(
  'vigil_graph_lock_alerts',
  `SELECT a.* FROM (SELECT DISTINCT unnest($1::uuid[]) AS id ORDER BY 1) k
    CROSS JOIN LATERAL (SELECT ${ALERT_COLUMNS.join(', ')} FROM alerts WHERE id = k.id FOR UPDATE) a`,
);
const upsertStates = prepared(
  'vigil_graph_upsert_states',
  `INSERT INTO graph_alert_state (graph_id, alert_id, last_update_at, status, classification, determination,
    assigned_to, evidence_hash, updated_at)
  SELECT s.graph_id, s.alert_id, s.last_update_at, s.status, s.classification, s.determination, s.assigned_to,
    s.evidence_hash, s.updated_at
  FROM json_to_recordset($1::json) AS s(graph_id text, alert_id uuid, last_update_at timestamptz, status text,
    classification text, determination text, assigned_to text, evidence_hash text, updated_at timestamptz)
  ORDER BY s.graph_id
  ON CONFLICT (graph_id) DO UPDATE SET alert_id = excluded.alert_id, last_update_at = excluded.last_update_at,
    status = excluded.status, classification = excluded.classification, determination = excluded.determination,
    assigned_to = excluded.assigned_to, evidence_hash = excluded.evidence_hash, updated_at = excluded.updated_at`,
);

/** One item per Graph ID (a page may repeat one when Graph's offsets shift): the latest update wins. */
function latestPerId(alerts: readonly PulledAlert[]): PulledAlert[] {
  const byId = new Map<string, PulledAlert>();
  for (const alert of alerts) {
    const known = byId.get(alert.graphId);
    if (known === undefined || (alert.lastUpdate?.getTime() ?? 0) >= (known.lastUpdate?.getTime() ?? 0))
      byId.set(alert.graphId, alert);
  }
  return [...byId.values()];
}

/** The pulled alerts no Vigil alert stands for yet (no alert of fingerprint `graph:<id>`). */
async function unseen(db: Db, alerts: readonly PulledAlert[]): Promise<PulledAlert[]> {
  if (alerts.length === 0) return [];
  const { rows: known } = await db.executeQuery<{ fingerprint: string }>(
    readKnownFingerprints(alerts.map((alert) => alert.draft.fingerprint)),
  );
  const seen = new Set(known.map((row) => row.fingerprint));
  return alerts.filter((alert) => !seen.has(alert.draft.fingerprint));
}

const asSeen = (
  state:
    | {
        status: string | null;
        classification: string | null;
        determination: string | null;
        assigned_to: string | null;
      }
    | undefined,
): SourceAlertState =>
  state === undefined
    ? UNSEEN_SOURCE_STATE
    : {
        status: state.status as AlertStatus | null,
        classification: state.classification as Classification | null,
        determination: state.determination,
        assignedTo: state.assigned_to,
      };

/** Rows per statement for the page's multi-row writes, well under Postgres's 65,535 parameters. */
const CHUNK = 1_000;
const chunks = <T>(items: readonly T[]): T[][] =>
  Array.from({ length: Math.ceil(items.length / CHUNK) }, (_, index) =>
    items.slice(index * CHUNK, (index + 1) * CHUNK),
  );

/** Syncs the page inside its transaction; returns how many alerts changed. */
async function syncPage(
  trx: Db,
  latest: readonly PulledAlert[],
  fresh: ReadonlySet<string>,
  now: Date,
): Promise<number> {
  if (latest.length === 0) return 0;
  // Locked in ID order, so two writers (the pull, a write-back) always lock alike.
  const { rows: states } = await trx.executeQuery<Selectable<GraphAlertStateTable>>(
    lockStates(latest.map((alert) => alert.graphId)),
  );
  const stateBy = new Map(states.map((state) => [state.graph_id, state]));
  const todo = latest.filter((pulled) => {
    const applied = stateBy.get(pulled.graphId)?.last_update_at ?? null;
    return applied === null || pulled.lastUpdate === null || pulled.lastUpdate.getTime() > applied.getTime();
  });
  if (todo.length === 0) return 0;

  // The Vigil alert of each is the latest of fingerprint graph:<id>: if that Graph alert fired again
  // after a resolution and opened a new Vigil alert, the sync goes there (reopening the old one
  // would make two open alerts of one fingerprint).
  const byFingerprint = new Map<string, string>();
  const { rows } = await trx.executeQuery<{ id: string; fingerprint: string }>(
    readAlertIds(todo.map((pulled) => pulled.draft.fingerprint)),
  );
  for (const row of rows) byFingerprint.set(row.fingerprint, row.id);
  const alertIdOf = (pulled: PulledAlert) => byFingerprint.get(pulled.draft.fingerprint);
  const alertIds = [...new Set(todo.flatMap((pulled) => alertIdOf(pulled) ?? []))].sort();
  if (alertIds.length === 0) return 0;
  const { rows: locked } = await trx.executeQuery<Omit<AlertRow, 'raw'>>(lockAlerts(alertIds));
  const alertBy = new Map(locked.map((row) => [row.id, row]));

  // Evidence is rewritten only where its digest moved; alerts just stored have theirs already.
  const evidenceChanged = await upsertEvidence(
    trx,
    todo.flatMap((pulled) => {
      const alertId = alertIdOf(pulled);
      const known = stateBy.get(pulled.graphId)?.evidence_hash ?? null;
      if (alertId === undefined || fresh.has(pulled.graphId) || known === pulled.evidenceHash) return [];
      return [{ alertId, pulled }];
    }),
  );
  const updates: Record<string, unknown>[] = [];
  const audit: AuditEntry[] = [];
  const outbox: OutboxMessage[] = [];
  const statusMoved: string[] = [];
  const seenRows = [];
  for (const pulled of todo) {
    const row = alertBy.get(alertIdOf(pulled) ?? '');
    if (row === undefined) continue;
    const sync = syncFromSource(
      toAlert(row),
      asSeen(stateBy.get(pulled.graphId)),
      pulled.state,
      DEFENDER_ACTOR,
      now,
    );
    const evidence = evidenceChanged.has(row.id);
    if (sync.changed || evidence) {
      const next = sync.alert;
      updates.push({
        id: row.id,
        status: next.status,
        classification: next.classification,
        resolution_comment: next.resolutionComment,
        determination: next.determination,
        status_changed_by: next.statusChangedBy,
        status_changed_at: next.statusChangedAt?.toISOString() ?? null,
        assignee: next.assignee,
        version: next.version,
      });
      audit.push(
        ...sync.audit,
        ...(evidence
          ? [
              {
                alertId: row.id,
                actor: DEFENDER_ACTOR,
                action: 'alert.evidence_updated',
                details: {},
                at: now,
              },
            ]
          : []),
      );
      outbox.push(notify(row.id, sync.changed ? 'status_changed' : 'occurred'));
      if (next.status !== row.status) statusMoved.push(row.id);
    }
    seenRows.push({
      graph_id: pulled.graphId,
      alert_id: row.id,
      last_update_at: pulled.lastUpdate,
      status: pulled.state.status,
      classification: pulled.state.classification,
      determination: pulled.state.determination,
      assigned_to: pulled.state.assignedTo,
      evidence_hash: pulled.evidenceHash,
      updated_at: now,
    });
  }
  if (updates.length > 0) {
    await sql`UPDATE alerts SET
        status = v.status, classification = v.classification, resolution_comment = v.resolution_comment,
        determination = v.determination, status_changed_by = v.status_changed_by,
        status_changed_at = v.status_changed_at, assignee = v.assignee, version = v.version,
        revision = alerts.revision + 1, updated_at = ${now}
      FROM jsonb_to_recordset(${json(updates)}::jsonb) AS v(id uuid, status text, classification text,
        resolution_comment text, determination text, status_changed_by jsonb, status_changed_at timestamptz,
        assignee jsonb, version integer)
      WHERE alerts.id = v.id`.execute(trx);
  }
  await appendAudit(trx, audit);
  await appendOutbox(trx, outbox);
  await notifyIncidentSiblings(trx, statusMoved);
  if (seenRows.length > 0) await trx.executeQuery(upsertStates(JSON.stringify(seenRows)));
  return updates.length;
}

/** Evidence Graph added or changed (a verdict, a remediation status) since last seen: the alerts it touched. */
async function upsertEvidence(
  trx: Db,
  items: readonly { readonly alertId: string; readonly pulled: PulledAlert }[],
): Promise<Set<string>> {
  const rows = items.flatMap(({ alertId, pulled }) =>
    pulled.draft.entities.map((entity) => ({
      alert_id: alertId,
      kind: entity.kind,
      key: entity.key,
      display_name: entity.displayName,
      roles: json(entity.roles),
      attributes: json(entity.attributes),
    })),
  );
  // Sorted, so concurrent writers lock entity rows alike.
  rows.sort((a, b) => (a.alert_id + a.kind + a.key < b.alert_id + b.kind + b.key ? -1 : 1));
  const touched = new Set<string>();
  for (const part of chunks(rows)) {
    const changed = await trx
      .insertInto('alert_entities')
      .values(part)
      .onConflict((oc) =>
        oc
          .columns(['alert_id', 'kind', 'key'])
          .doUpdateSet({
            display_name: sql`excluded.display_name`,
            roles: sql`excluded.roles`,
            attributes: sql`excluded.attributes`,
          })
          .where(
            sql<boolean>`(alert_entities.display_name, alert_entities.roles, alert_entities.attributes)
              IS DISTINCT FROM (excluded.display_name, excluded.roles, excluded.attributes)`,
          ),
      )
      .returning('alert_id')
      .execute();
    for (const row of changed) touched.add(row.alert_id);
  }
  return touched;
}

/** Gives the lease back (the run ended) and records why it ended early, if it did. */
export async function releasePull(
  db: Db,
  stream: string,
  owner: string,
  error: string | null,
): Promise<void> {
  await db
    .updateTable('graph_sync')
    .set({
      lease_owner: null,
      lease_until: null,
      last_error: error?.slice(0, 2000) ?? null,
      updated_at: sql`now()`,
    })
    .where('stream', '=', stream)
    .where('lease_owner', '=', owner)
    .execute();
}

/**
 * Puts the next pull in the outbox unless one is already waiting (the chain is one row at a
 * time; `except` is the row of the job that is scheduling its successor). Under a transaction
 * lock, so processes starting together register one chain between them.
 */
export async function schedulePull(
  handle: DbHandle,
  availableAt: Date,
  except: string | null,
): Promise<boolean> {
  return handle.db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext(${`vigil.graph_pull.${handle.schema}`}))`.execute(trx);
    const waiting = await trx
      .selectFrom('outbox')
      .select('id')
      .where('topic', '=', 'graph_pull')
      .where('completed_at', 'is', null)
      .where('failed_at', 'is', null)
      .$if(except !== null, (query) => query.where('id', '<>', except as string))
      .executeTakeFirst();
    if (waiting !== undefined) return false;
    await appendOutbox(trx, [{ topic: 'graph_pull', payload: {}, availableAt }]);
    return true;
  });
}

/** Counters for /metrics: items pulled and malformed items skipped, since the install began. */
export async function pullCounters(db: Db): Promise<{ pulled: number; skipped: number }> {
  const row = await db
    .selectFrom('graph_sync')
    .select([
      sql<string>`coalesce(sum(pulled_total), 0)`.as('pulled'),
      sql<string>`coalesce(sum(skipped_total), 0)`.as('skipped'),
    ])
    .executeTakeFirst();
  return { pulled: Number(row?.pulled ?? 0), skipped: Number(row?.skipped ?? 0) };
}

/** What Defender says of a Graph alert, as Vigil last saw or wrote it, for the alert page; null for other alerts. */
export interface DefenderAlertView {
  readonly graphId: string;
  readonly status: AlertStatus | null;
  readonly classification: Classification | null;
  readonly determination: string | null;
  readonly assignedTo: string | null;
  readonly lastUpdateAt: Date | null;
  readonly writeBackError: string | null;
  readonly incidentId: string | null;
}

export async function defenderAlertView(db: Db, alertId: string): Promise<DefenderAlertView | null> {
  const row = await db
    .selectFrom('graph_alert_state')
    .innerJoin('alerts', 'alerts.id', 'graph_alert_state.alert_id')
    .select([
      'graph_alert_state.graph_id',
      'graph_alert_state.status',
      'graph_alert_state.classification',
      'graph_alert_state.determination',
      'graph_alert_state.assigned_to',
      'graph_alert_state.last_update_at',
      'graph_alert_state.writeback_error',
      'alerts.incident_id',
    ])
    .where('graph_alert_state.alert_id', '=', alertId)
    .orderBy('graph_alert_state.updated_at', 'desc')
    .executeTakeFirst();
  if (row === undefined) return null;
  return {
    graphId: row.graph_id,
    status: row.status as AlertStatus | null,
    classification: row.classification as Classification | null,
    determination: row.determination,
    assignedTo: row.assigned_to,
    lastUpdateAt: row.last_update_at,
    writeBackError: row.writeback_error,
    incidentId: row.incident_id,
  };
}
