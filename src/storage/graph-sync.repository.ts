import { sql } from 'kysely';
import {
  type Actor,
  type AlertStatus,
  type Classification,
  type Clock,
  groupOccurrences,
  notify,
  type SourceAlertState,
  syncFromSource,
  UNSEEN_SOURCE_STATE,
} from '../domain/index.js';
import type { PulledAlert } from '../integrations/microsoft/graph-alerts.js';
import { json, toAlert } from './alert.mapper.js';
import { storeOccurrences } from './alert-ingest.repository.js';
import { appendAudit } from './audit.repository.js';
import type { Db, DbHandle } from './db.js';
import { appendOutbox } from './outbox.repository.js';

/** Changes pulled from Microsoft Defender name it as their actor. */
export const DEFENDER_ACTOR: Actor = { kind: 'source', source: 'defender' };

export const ALERTS_STREAM = 'alerts';

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
 * path as `/ingest/graph`: policies, investigations, cards). Then one transaction syncs the rest:
 * an alert whose Graph `lastUpdateDateTime` is not newer than the one last applied is left
 * alone (no revision, no audit row, no card refresh); a newer one has its status,
 * classification, determination, assignee and evidence brought over (see `syncFromSource`),
 * with Defender as actor; and the same transaction stores the nextLink (or, after the chain's
 * last page, the new watermark), so a crash resumes at the first page not committed.
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
    let changed = 0;
    let unchanged = 0;
    for (const pulled of latest) {
      if (await syncOne(trx, pulled, now)) changed += 1;
      else unchanged += 1;
    }
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
    return { created: fresh.length, changed, unchanged };
  });
}

/** One item per Graph ID (a page may repeat one when Graph's offsets shift): the latest update wins. */
function latestPerId(alerts: readonly PulledAlert[]): PulledAlert[] {
  const byId = new Map<string, PulledAlert>();
  for (const alert of alerts) {
    const known = byId.get(alert.graphId);
    if (known === undefined || (alert.lastUpdate?.getTime() ?? 0) >= (known.lastUpdate?.getTime() ?? 0))
      byId.set(alert.graphId, alert);
  }
  // Locked in ID order, so two runners (or a runner and a write-back) never deadlock.
  return [...byId.values()].sort((a, b) => (a.graphId < b.graphId ? -1 : a.graphId > b.graphId ? 1 : 0));
}

/** The pulled alerts no Vigil alert stands for yet (no state row, no alert of fingerprint `graph:<id>`). */
async function unseen(db: Db, alerts: readonly PulledAlert[]): Promise<PulledAlert[]> {
  if (alerts.length === 0) return [];
  const fingerprints = alerts.map((alert) => alert.draft.fingerprint);
  const known = await db
    .selectFrom('alerts')
    .select('fingerprint')
    .distinct()
    .where('fingerprint', 'in', fingerprints)
    .execute();
  const seen = new Set(known.map((row) => row.fingerprint));
  return alerts.filter((alert) => !seen.has(alert.draft.fingerprint));
}

/** Syncs one alert inside the page's transaction; true when the alert changed. */
async function syncOne(trx: Db, pulled: PulledAlert, now: Date): Promise<boolean> {
  const state = await trx
    .selectFrom('graph_alert_state')
    .selectAll()
    .where('graph_id', '=', pulled.graphId)
    .forUpdate()
    .executeTakeFirst();
  if (
    state !== undefined &&
    state.last_update_at !== null &&
    pulled.lastUpdate !== null &&
    pulled.lastUpdate.getTime() <= state.last_update_at.getTime()
  )
    return false;
  const row = await trx
    .selectFrom('alerts')
    .selectAll()
    .$if(state !== undefined, (query) => query.where('id', '=', state?.alert_id as string))
    .$if(state === undefined, (query) =>
      query.where('fingerprint', '=', pulled.draft.fingerprint).orderBy('created_at', 'desc').limit(1),
    )
    .forUpdate()
    .executeTakeFirst();
  if (row === undefined) return false;
  const seen: SourceAlertState =
    state === undefined
      ? UNSEEN_SOURCE_STATE
      : {
          status: state.status as AlertStatus | null,
          classification: state.classification as Classification | null,
          determination: state.determination,
          assignedTo: state.assigned_to,
        };
  const sync = syncFromSource(toAlert(row), seen, pulled.state, DEFENDER_ACTOR, now);
  const evidenceChanged = await upsertEvidence(trx, row.id, pulled);
  if (sync.changed || evidenceChanged) {
    const next = sync.alert;
    await trx
      .updateTable('alerts')
      .set({
        status: next.status,
        classification: next.classification,
        resolution_comment: next.resolutionComment,
        determination: next.determination,
        status_changed_by: next.statusChangedBy === null ? null : json(next.statusChangedBy),
        status_changed_at: next.statusChangedAt,
        assignee: next.assignee === null ? null : json(next.assignee),
        version: next.version,
        revision: sql`revision + 1`,
        updated_at: now,
      })
      .where('id', '=', row.id)
      .execute();
    await appendAudit(trx, [
      ...sync.audit,
      ...(evidenceChanged
        ? [{ alertId: row.id, actor: DEFENDER_ACTOR, action: 'alert.evidence_updated', details: {}, at: now }]
        : []),
    ]);
    await appendOutbox(trx, [notify(row.id, sync.changed ? 'status_changed' : 'occurred')]);
  }
  await trx
    .insertInto('graph_alert_state')
    .values({
      graph_id: pulled.graphId,
      alert_id: row.id,
      last_update_at: pulled.lastUpdate,
      status: pulled.state.status,
      classification: pulled.state.classification,
      determination: pulled.state.determination,
      assigned_to: pulled.state.assignedTo,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.column('graph_id').doUpdateSet({
        alert_id: row.id,
        last_update_at: pulled.lastUpdate,
        status: pulled.state.status,
        classification: pulled.state.classification,
        determination: pulled.state.determination,
        assigned_to: pulled.state.assignedTo,
        updated_at: now,
      }),
    )
    .execute();
  return sync.changed || evidenceChanged;
}

/** Evidence Graph added or changed (a verdict, a remediation status) since last seen; true when any. */
async function upsertEvidence(trx: Db, alertId: string, pulled: PulledAlert): Promise<boolean> {
  const entities = pulled.draft.entities;
  if (entities.length === 0) return false;
  const touched = await trx
    .insertInto('alert_entities')
    .values(
      entities.map((entity) => ({
        alert_id: alertId,
        kind: entity.kind,
        key: entity.key,
        display_name: entity.displayName,
        roles: json(entity.roles),
        attributes: json(entity.attributes),
      })),
    )
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
    .returning('key')
    .execute();
  return touched.length > 0;
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
