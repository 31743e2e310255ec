import { sql } from 'kysely';
import {
  type AlertStatus,
  type Clock,
  graphIncidentWriteBack,
  incidentStatus,
  systemActor,
} from '../domain/index.js';
import { appendAudit } from './audit.repository.js';
import type { Db, DbHandle } from './db.js';
import { appendOutbox } from './outbox.repository.js';
import { endWriteBackLease, takeWriteBackLease } from './writeback-lease.repository.js';

/** An incident's state in Graph's own words (status active/inProgress/resolved...). */
export interface IncidentGraphState {
  readonly status: string | null;
  readonly classification: string | null;
  readonly determination: string | null;
}

export interface IncidentWriteBackClaim {
  readonly incidentId: string;
  readonly graphId: string;
  /** Vigil's state now, read from its alerts, in Vigil's words. */
  readonly status: AlertStatus;
  /** The classification and determination of its latest resolution (null while it is open). */
  readonly classification: string | null;
  readonly determination: string | null;
  /** What Graph was last known to say. */
  readonly recorded: IncidentGraphState;
  /** When Vigil's state last changed (its clock), to weigh against Graph's `lastUpdateDateTime`. */
  readonly changedAt: Date | null;
}

export type IncidentWriteBackClaimOutcome =
  | { readonly kind: 'claimed'; readonly claim: IncidentWriteBackClaim }
  | { readonly kind: 'in_flight'; readonly until: Date }
  | { readonly kind: 'gone' };

/**
 * Takes the write-back of one incident for `leaseMs` (one writer per incident) and reads what
 * to write. A short transaction; the caller calls Graph after it committed.
 */
export async function claimIncidentWriteBack(
  handle: DbHandle,
  incidentId: string,
  owner: string,
  leaseMs: number,
  clock: Clock,
): Promise<IncidentWriteBackClaimOutcome> {
  const now = clock.now();
  return handle.db.transaction().execute(async (trx) => {
    const incident = await trx
      .selectFrom('incidents')
      .selectAll()
      .where('id', '=', incidentId)
      .forUpdate()
      .executeTakeFirst();
    if (incident === undefined) return { kind: 'gone' };
    const held = await takeWriteBackLease(trx, 'incidents', incidentId, incident, { owner, leaseMs, now });
    if (held !== null) return held;
    const alerts = await trx
      .selectFrom('alerts')
      .select(['status', 'classification', 'determination', 'status_changed_at'])
      .where('incident_id', '=', incidentId)
      .orderBy(sql`status_changed_at DESC NULLS LAST`)
      .execute();
    const status = incidentStatus(alerts.map((alert) => alert.status as AlertStatus));
    const latest = alerts[0];
    return {
      kind: 'claimed',
      claim: {
        incidentId,
        graphId: incident.graph_id,
        status,
        classification: status === 'resolved' ? (latest?.classification ?? null) : null,
        determination: status === 'resolved' ? (latest?.determination ?? null) : null,
        recorded: {
          status: incident.graph_status,
          classification: incident.graph_classification,
          determination: incident.graph_determination,
        },
        changedAt: latest?.status_changed_at ?? null,
      },
    };
  });
}

/** Audit rows on every alert of the incident: its trail is theirs. */
async function auditIncident(
  trx: Db,
  incidentId: string,
  action: string,
  details: Readonly<Record<string, unknown>>,
  at: Date,
): Promise<void> {
  const alerts = await trx.selectFrom('alerts').select('id').where('incident_id', '=', incidentId).execute();
  await appendAudit(
    trx,
    alerts.map((alert) => ({ alertId: alert.id, actor: systemActor, action, details, at })),
  );
}

/**
 * Records what reached Graph (what Vigil last saw of the incident becomes what it wrote, so the
 * pull recognises it as Vigil's own) and gives the incident back; a conflict goes on the trail.
 */
export async function recordIncidentWriteBack(
  handle: DbHandle,
  incidentId: string,
  owner: string,
  written: {
    readonly state: IncidentGraphState | null;
    readonly lastUpdate: Date | null;
    readonly conflict: Readonly<Record<string, unknown>> | null;
    readonly at: Date;
  },
): Promise<void> {
  await handle.db.transaction().execute(async (trx) => {
    const updated = await endWriteBackLease(trx, 'incidents', incidentId, owner, {
      ...(written.state === null
        ? {}
        : {
            graph_status: written.state.status,
            graph_classification: written.state.classification,
            graph_determination: written.state.determination,
          }),
      ...(written.lastUpdate === null
        ? {}
        : { last_update_at: sql`greatest(last_update_at, ${written.lastUpdate})` }),
      writeback_error: null,
      updated_at: written.at,
    });
    if (written.conflict !== null && Number(updated) > 0)
      await auditIncident(trx, incidentId, 'incident.write_back_conflict', written.conflict, written.at);
  });
}

/** Gives the incident back after a failure worth retrying. */
export async function releaseIncidentWriteBack(
  handle: DbHandle,
  incidentId: string,
  owner: string,
): Promise<void> {
  await endWriteBackLease(handle.db, 'incidents', incidentId, owner);
}

/** A write-back Graph refused for good (a missing permission, an incident gone): the trail says why. */
export async function failIncidentWriteBack(
  handle: DbHandle,
  incidentId: string,
  owner: string,
  reason: string,
  clock: Clock,
): Promise<void> {
  await handle.db.transaction().execute(async (trx) => {
    await endWriteBackLease(trx, 'incidents', incidentId, owner, { writeback_error: reason.slice(0, 2000) });
    await auditIncident(
      trx,
      incidentId,
      'incident.write_back_failed',
      { target: 'Microsoft Graph', reason },
      clock.now(),
    );
  });
}

/** Puts the incident's write-back back in the outbox for `at` (every attempt of the last one failed). */
export async function retryIncidentWriteBackLater(
  handle: DbHandle,
  incidentId: string,
  at: Date,
): Promise<void> {
  await appendOutbox(handle.db, [{ ...graphIncidentWriteBack(incidentId), availableAt: at }]);
}
