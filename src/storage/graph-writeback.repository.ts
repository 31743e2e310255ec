import { sql } from 'kysely';
import {
  type Actor,
  type AlertStatus,
  actorKey,
  type Classification,
  type Clock,
  graphWriteBack,
  systemActor,
  UNSEEN_SOURCE_STATE,
} from '../domain/index.js';
import { appendAudit } from './audit.repository.js';
import type { Db, DbHandle } from './db.js';
import { upnOf } from './identity-upn.repository.js';
import { appendOutbox } from './outbox.repository.js';
import { endWriteBackLease, takeWriteBackLease } from './writeback-lease.repository.js';

/** The Graph-side state Vigil last wrote or saw. */
export interface RecordedState {
  readonly status: AlertStatus | null;
  readonly classification: Classification | null;
  readonly determination: string | null;
}

/** A change by a person or policy whose comment is still to reach Graph. */
export interface PendingComment {
  readonly auditId: string;
  readonly actor: Actor;
  readonly details: Readonly<Record<string, unknown>>;
  readonly at: Date;
}

export interface WriteBackClaim {
  readonly graphId: string;
  readonly alertId: string;
  /** Vigil's state now: what Graph should say. */
  readonly wanted: RecordedState;
  readonly recorded: RecordedState;
  readonly comments: readonly PendingComment[];
  /** When Vigil's state last changed (its clock), to weigh against Graph's `lastUpdateDateTime`. */
  readonly changedAt: Date | null;
  /** Vigil's assignee for Graph's `assignedTo` (see `assigneeFor`), and what Graph was last known to say. */
  readonly assignee: WantedAssignee;
  readonly recordedAssignedTo: string | null;
}

/**
 * Who Graph's `assignedTo` should name: nobody to write (no assignee, or one that came from
 * Defender itself), a UPN, or a person whose UPN Vigil does not know (`noted`: the trail says so
 * already for this assignment).
 */
export type WantedAssignee =
  | { readonly kind: 'none' }
  | { readonly kind: 'upn'; readonly upn: string }
  | { readonly kind: 'unknown'; readonly key: string; readonly noted: boolean };

export type WriteBackClaimOutcome =
  | { readonly kind: 'claimed'; readonly claim: WriteBackClaim }
  | { readonly kind: 'in_flight'; readonly until: Date }
  | { readonly kind: 'not_graph' };

/**
 * Takes the write-back of one Graph-sourced alert for `leaseMs` (one writer per alert, so two
 * jobs cannot send Graph states out of order) and reads what to write: Vigil's state now, what
 * Graph was last known to say, and the status changes whose comments are not on Graph yet. A
 * short transaction; the caller calls Graph after it committed.
 */
export async function claimWriteBack(
  handle: DbHandle,
  alertId: string,
  owner: string,
  leaseMs: number,
  clock: Clock,
): Promise<WriteBackClaimOutcome> {
  const now = clock.now();
  return handle.db.transaction().execute(async (trx) => {
    const alert = await trx
      .selectFrom('alerts')
      .select([
        'id',
        'source',
        'source_id',
        'status',
        'classification',
        'determination',
        'status_changed_at',
        'assignee',
      ])
      .where('id', '=', alertId)
      .executeTakeFirst();
    if (alert === undefined || alert.source !== 'graph' || alert.source_id === null)
      return { kind: 'not_graph' };
    // An alert pushed to /ingest/graph has no row yet: Graph's state of a fresh alert is the baseline.
    await trx
      .insertInto('graph_alert_state')
      .values({
        graph_id: alert.source_id,
        alert_id: alert.id,
        last_update_at: null,
        status: UNSEEN_SOURCE_STATE.status,
        classification: null,
        determination: null,
        assigned_to: null,
      })
      .onConflict((oc) => oc.column('graph_id').doNothing())
      .execute();
    const state = await trx
      .selectFrom('graph_alert_state')
      .selectAll()
      .where('graph_id', '=', alert.source_id)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const held = await takeWriteBackLease(trx, 'graph_alert_state', alert.source_id, state, {
      owner,
      leaseMs,
      now,
    });
    if (held !== null) return held;
    const comments = await trx
      .selectFrom('audit_log')
      .select(['id', 'actor', 'details', 'at'])
      .where('alert_id', '=', alert.id)
      .where('action', '=', 'alert.status_changed')
      .where('actor_key', 'not like', 'source:%')
      .where('id', '>', state.comments_through)
      .orderBy('id')
      .execute();
    const status = alert.status as AlertStatus;
    const assignee = await assigneeFor(trx, alert.id, alert.assignee as Actor | null);
    return {
      kind: 'claimed',
      claim: {
        graphId: alert.source_id,
        alertId: alert.id,
        wanted: {
          status,
          classification: status === 'resolved' ? (alert.classification as Classification | null) : null,
          // Graph's `unknown` (as a pushed alert may carry it) says nothing: nothing to write.
          determination: alert.determination?.toLowerCase() === 'unknown' ? null : alert.determination,
        },
        recorded: {
          status: state.status as AlertStatus | null,
          classification: state.classification as Classification | null,
          determination: state.determination,
        },
        changedAt: alert.status_changed_at,
        assignee,
        recordedAssignedTo: state.assigned_to,
        comments: comments.map((row) => ({
          auditId: row.id,
          actor: row.actor as Actor,
          details: row.details,
          at: row.at,
        })),
      },
    };
  });
}

/** The UPN of the alert's assignee, if Vigil knows it (see `WantedAssignee`). */
async function assigneeFor(trx: Db, alertId: string, assignee: Actor | null): Promise<WantedAssignee> {
  // An assignee with platform `api` and a UPN for ID is one Defender named (see sourceAssignee): nothing to write.
  if (assignee === null || assignee.kind !== 'user') return { kind: 'none' };
  if (assignee.platform === 'api' && assignee.id.includes('@')) return { kind: 'none' };
  const key = actorKey(assignee);
  const upn = await upnOf(trx, assignee);
  if (upn !== null) return { kind: 'upn', upn };
  const noted = await trx
    .selectFrom('audit_log')
    .select('id')
    .where('alert_id', '=', alertId)
    .where('action', '=', 'alert.write_back_skipped')
    .where(
      'id',
      '>',
      sql<string>`coalesce((SELECT max(id) FROM audit_log WHERE alert_id = ${alertId} AND action = 'alert.assigned'), 0)`,
    )
    .executeTakeFirst();
  return { kind: 'unknown', key, noted: noted !== undefined };
}

/**
 * Records what reached Graph and gives the alert back: the written state becomes what Vigil last
 * saw of Graph (so the pull recognises it coming back as Vigil's own), with Graph's
 * `lastUpdateDateTime` of the write (never moved backwards); a conflict goes on the alert's trail.
 */
export async function recordWriteBack(
  handle: DbHandle,
  graphId: string,
  owner: string,
  written: {
    readonly state: RecordedState | null;
    readonly lastUpdate: Date | null;
    readonly commentsThrough: string | null;
    /** The `assignedTo` Graph now holds, when Vigil wrote or saw it. */
    readonly assignedTo?: string | null | undefined;
    /** A field not written, and why (e.g. no UPN known for the assignee), for the trail. */
    readonly skipped?: {
      readonly alertId: string;
      readonly details: Readonly<Record<string, unknown>>;
      readonly at: Date;
    } | null;
    readonly conflict: {
      readonly alertId: string;
      readonly details: Readonly<Record<string, unknown>>;
      readonly at: Date;
    } | null;
  },
): Promise<void> {
  await handle.db.transaction().execute(async (trx) => {
    await endWriteBackLease(trx, 'graph_alert_state', graphId, owner, {
      ...(written.state === null
        ? {}
        : {
            status: written.state.status,
            classification: written.state.classification,
            determination: written.state.determination,
          }),
      ...(written.lastUpdate === null
        ? {}
        : { last_update_at: sql`greatest(last_update_at, ${written.lastUpdate})` }),
      ...(written.commentsThrough === null ? {} : { comments_through: written.commentsThrough }),
      ...(written.assignedTo === undefined ? {} : { assigned_to: written.assignedTo }),
      writeback_error: null,
      updated_at: sql`now()`,
    });
    if (written.skipped !== null && written.skipped !== undefined)
      await appendAudit(trx, [
        {
          alertId: written.skipped.alertId,
          actor: systemActor,
          action: 'alert.write_back_skipped',
          details: written.skipped.details,
          at: written.skipped.at,
        },
      ]);
    if (written.conflict !== null)
      await appendAudit(trx, [
        {
          alertId: written.conflict.alertId,
          actor: systemActor,
          action: 'alert.write_back_conflict',
          details: written.conflict.details,
          at: written.conflict.at,
        },
      ]);
  });
}

/** Gives the alert back after a failure worth retrying. */
export async function releaseWriteBack(handle: DbHandle, graphId: string, owner: string): Promise<void> {
  await endWriteBackLease(handle.db, 'graph_alert_state', graphId, owner);
}

/** A write-back Graph refused for good (a missing permission, an alert gone): the trail says why. */
export async function failWriteBack(
  handle: DbHandle,
  claim: WriteBackClaim,
  owner: string,
  reason: string,
  clock: Clock,
): Promise<void> {
  await handle.db.transaction().execute(async (trx) => {
    await endWriteBackLease(trx, 'graph_alert_state', claim.graphId, owner, {
      writeback_error: reason.slice(0, 2000),
    });
    await appendAudit(trx, [
      {
        alertId: claim.alertId,
        actor: systemActor,
        action: 'alert.write_back_failed',
        details: { target: 'Microsoft Graph', reason },
        at: clock.now(),
      },
    ]);
  });
}

/** Puts the alert's write-back back in the outbox for `at` (every attempt of the last one failed). */
export async function retryWriteBackLater(handle: DbHandle, alertId: string, at: Date): Promise<void> {
  await appendOutbox(handle.db, [{ ...graphWriteBack(alertId), availableAt: at }]);
}
