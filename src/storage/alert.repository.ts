import { CompiledQuery, sql } from 'kysely';
import { AlertErrorCode } from '../domain/alert/alert.errors.js';
import {
  type Actor,
  type Alert,
  type AlertStatus,
  type AuditEntry,
  assignAlert,
  type CardIncident,
  type CardInvestigation,
  type Clock,
  changeStatus,
  fail,
  graphIncidentWriteBack,
  graphWriteBack,
  notify,
  type OutboxMessage,
  ok,
  type Result,
  type Severity,
  type StatusChangeRequest,
  writesBackToSource,
} from '../domain/index.js';
import { ALERT_COLUMNS, json, toAlert, toEntity } from './alert.mapper.js';
import { appendAudit, withAudit } from './audit.repository.js';
import type { Db, DbHandle } from './db.js';
import {
  appendOutbox,
  NOTIFY_KEY_PREFIX,
  outboxInsert,
  type PendingRow,
  pendingRows,
} from './outbox.repository.js';
import type { AlertRow, CardRow, EntityRow } from './schema.js';

/** An alert as stored: the domain's Alert plus its short number and its render revision. */
export type StoredAlert = Alert & { readonly number: string; readonly revision: number };

/** A change people (or sources, or policies) ask of one alert. */
export type AlertChange =
  | { readonly type: 'status'; readonly request: StatusChangeRequest }
  | { readonly type: 'assign'; readonly assignee: Actor; readonly expectedVersion?: number | undefined };

export interface AlertChangeOutcome {
  readonly changed: boolean;
  readonly alert: StoredAlert;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Finds an alert by its UUID or by its short number (`42`, `#42`), as people type it in chat. */
export async function findAlertId(db: Db, ref: string): Promise<string | null> {
  const trimmed = ref.trim().replace(/^#/, '');
  if (UUID.test(trimmed)) {
    const row = await db.selectFrom('alerts').select('id').where('id', '=', trimmed).executeTakeFirst();
    return row?.id ?? null;
  }
  if (/^\d{1,18}$/.test(trimmed)) {
    const row = await db
      .selectFrom('alerts')
      .select('id')
      .where('number', '=', trimmed as never)
      .executeTakeFirst();
    return row?.id ?? null;
  }
  return null;
}

export async function getAlert(db: Db, id: string): Promise<StoredAlert | null> {
  const row = await alertsWithEntities(db).where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : toAlert(row, row.entity_rows.map(toEntity));
}

/** An alert as a card shows it: its investigations and incident section start empty (see `deliveredAlert`). */
export type DeliveredAlert = StoredAlert & {
  readonly investigations: readonly CardInvestigation[];
  readonly incident: CardIncident | null;
  /** As the alert read gave it: the incident section is read again by it, not by the alert. */
  readonly incidentId: string | null;
};

/** What the notify worker needs of one alert to bring its cards current. */
export interface AlertForDelivery {
  readonly alert: DeliveredAlert;
  readonly cards: readonly CardRow[];
  /** Whether it belongs to any investigation (only then are they read for its card). */
  readonly investigated: boolean;
}

/** A notify job's row as it was read, and the alert it asks for (null if gone or muted). */
export interface RowForDelivery {
  /** As `pendingRow` reads it: null if the row is already done or given up on. */
  readonly job: PendingRow | null;
  /** Null if the alert is gone or muted (a silenced alert is stored and counted, never posted). */
  readonly delivery: AlertForDelivery | null;
}

/**
 * The alerts of a notify job (or of a local delivery batch), each with its entities, its cards and
 * whether it is investigated: one text for any number of alerts, each found by one probe of the
 * primary key. Not prepared: a generic plan made while `investigation_alerts` was small would scan
 * it whole for EXISTS (hashed), and the forms that reach it by index cost more per alert than
 * planning costs per batch.
 */
const READ_FOR_DELIVERY = `SELECT ${ALERT_COLUMNS.map((column) => `a.${column}`).join(', ')},
    coalesce((SELECT json_agg(e ORDER BY e.kind, e.key) FROM alert_entities e WHERE e.alert_id = a.id),
      '[]'::json) AS entity_rows,
    coalesce((SELECT json_agg(c) FROM cards c WHERE c.alert_id = a.id), '[]'::json) AS card_rows,
    EXISTS (SELECT FROM investigation_alerts ia WHERE ia.alert_id = a.id) AS investigated
  FROM unnest($1::uuid[]) AS w(id)
  CROSS JOIN LATERAL (SELECT ${ALERT_COLUMNS.join(', ')} FROM alerts WHERE alerts.id = w.id LIMIT 1) a`;

/**
 * A fresh alert given a card's fields by assignment, in place. In Node 20 a spread that adds fields
 * (`{ ...alert, incident }`) costs ~13 µs an alert and leaves a dictionary-mode object that every
 * later copy pays for again; assignments to a fresh object cost well under a microsecond.
 */
function deliveredAlert(alert: StoredAlert, incidentId: string | null): DeliveredAlert {
  const delivered = alert as { -readonly [K in keyof DeliveredAlert]: DeliveredAlert[K] };
  delivered.investigations = [];
  delivered.incident = null;
  delivered.incidentId = incidentId;
  return delivered;
}

/**
 * What a notify job needs of its rows' alerts, keyed by outbox ID: each alert with its entities,
 * its cards and whether it is investigated, in one query for all of them. The rows are read
 * first, so that a request folded in after this read moves `requested` and its row is not
 * completed on the strength of an older state; a caller that holds them locked (local delivery)
 * passes them as it claimed them instead.
 */
export async function alertsForDelivery(
  db: Db,
  rows: readonly { readonly outboxId: string; readonly alertId: string }[],
  claimed?: ReadonlyMap<string, PendingRow>,
): Promise<Map<string, RowForDelivery>> {
  if (rows.length === 0) return new Map();
  const jobs =
    claimed ??
    (await pendingRows(
      db,
      rows.map((row) => row.outboxId),
    ));
  const wanted = [...new Set(rows.filter((row) => jobs.has(row.outboxId)).map((row) => row.alertId))];
  const { rows: alertRows } =
    wanted.length === 0
      ? { rows: [] }
      : await db.executeQuery<
          Omit<AlertRow, 'raw'> & { entity_rows: EntityRow[]; card_rows: CardJson[]; investigated: boolean }
        >(CompiledQuery.raw(READ_FOR_DELIVERY, [wanted]));
  const deliveries = new Map(
    alertRows.map((row) => [
      row.id,
      row.muted
        ? null
        : {
            alert: deliveredAlert(toAlert(row, row.entity_rows.map(toEntity)), row.incident_id),
            cards: row.card_rows.map(cardFromJson),
            investigated: row.investigated,
          },
    ]),
  );
  return new Map(
    rows.map((row) => [
      row.outboxId,
      { job: jobs.get(row.outboxId) ?? null, delivery: deliveries.get(row.alertId) ?? null },
    ]),
  );
}

/** Alert rows (but their raw payloads) with their entities (in kind, key order) beside them, as one query. */
const alertsWithEntities = (db: Db) =>
  db
    .selectFrom('alerts')
    .select(ALERT_COLUMNS)
    .select(
      sql<EntityRow[]>`coalesce((SELECT json_agg(e ORDER BY e.kind, e.key) FROM alert_entities e
        WHERE e.alert_id = alerts.id), '[]'::json)`.as('entity_rows'),
    );

/** A card row as json_agg gives it: timestamps as text. */
type CardJson = Omit<CardRow, 'lease_until' | 'post_attempted_at' | 'created_at' | 'updated_at'> & {
  readonly lease_until: string | null;
  readonly post_attempted_at: string | null;
  readonly created_at: string;
  readonly updated_at: string;
};

const cardFromJson = (card: CardJson): CardRow => ({
  ...card,
  lease_until: card.lease_until === null ? null : new Date(card.lease_until),
  post_attempted_at: card.post_attempted_at === null ? null : new Date(card.post_attempted_at),
  created_at: new Date(card.created_at),
  updated_at: new Date(card.updated_at),
});

/**
 * Applies one change in one transaction: the row is locked, the domain decides, and the new
 * state, its audit row and its notify outbox row are written together. A refusal changes nothing
 * but is audited, so the trail shows what was attempted and why it was refused.
 */
export async function changeAlert(
  handle: DbHandle,
  alertId: string,
  actor: Actor,
  clock: Clock,
  change: AlertChange,
): Promise<Result<AlertChangeOutcome>> {
  return handle.db.transaction().execute((trx) => changeAlertIn(trx, alertId, actor, clock.now(), change));
}

/** `changeAlert` inside the caller's transaction (an incident resolves its alerts in one). */
export async function changeAlertIn(
  trx: Db,
  alertId: string,
  actor: Actor,
  now: Date,
  change: AlertChange,
  /** `incidentFollowUps: false`: the caller changes many alerts of its incident and does the incident's follow-ups (write-back, the other cards) once. */
  options: { readonly incidentFollowUps?: boolean } = {},
): Promise<Result<AlertChangeOutcome>> {
  const row = await trx
    .selectFrom('alerts')
    .selectAll()
    .where('id', '=', alertId)
    .forUpdate()
    .executeTakeFirst();
  if (row === undefined) return fail(AlertErrorCode.NotFound, `No alert ${alertId}.`);
  const current = toAlert(row);
  const decided = decide(current, change, actor, now);
  if (!decided.ok) {
    await appendAudit(trx, [
      {
        alertId,
        actor,
        action: 'alert.change_refused',
        details: { change: describe(change), code: decided.error.code, reason: decided.error.message },
        at: now,
      },
    ]);
    return decided;
  }
  const { alert: next, audit } = decided.value;
  if (audit === null) return ok({ changed: false, alert: current });
  const incidentFollowUps = row.incident_id !== null && options.incidentFollowUps !== false;
  const outbox = [
    notify(alertId, change.type === 'status' ? 'status_changed' : 'assigned'),
    ...(writesBackToSource(current, actor) ? [graphWriteBack(alertId)] : []),
    // Its Defender incident moves with it (resolved once its last alert is), unless the caller writes it once for many.
    ...(writesBackToSource(current, actor) && row.incident_id !== null && incidentFollowUps
      ? [graphIncidentWriteBack(row.incident_id)]
      : []),
  ];
  // Its incident's other cards refresh too: their rows and the alert's own go in one statement, in
  // key order (see notifyIncidentSiblings); otherwise the change, its audit row and its outbox rows
  // are one statement: a click costs one trip, not three.
  const withSiblings = incidentFollowUps && next.status !== current.status;
  const statement = withAudit(trx, [audit]);
  const writes = (
    withSiblings ? statement : statement.with('outbox_rows', () => outboxInsert(trx, outbox))
  ) as typeof statement;
  const updated = await writes
    .updateTable('alerts')
    .set({
      status: next.status,
      classification: next.classification,
      determination: next.determination,
      resolution_comment: next.resolutionComment,
      status_changed_by: next.statusChangedBy === null ? null : json(next.statusChangedBy),
      status_changed_at: next.statusChangedAt,
      assignee: next.assignee === null ? null : json(next.assignee),
      version: next.version,
      revision: sql`revision + 1`,
      updated_at: now,
    })
    .where('id', '=', alertId)
    .returningAll()
    .executeTakeFirstOrThrow();
  if (withSiblings) await notifyIncidentSiblings(trx, [alertId], outbox);
  return ok({ changed: true, alert: toAlert(updated) });
}

/**
 * Card refreshes, in the caller's transaction, for the other alerts of the incidents of
 * `alertIds` (which have their own) and of `formerIncidentIds` (incidents those alerts just left):
 * each card lists its incident's alerts by status. Coalescing notify rows only; no sibling row is
 * locked (a card compares the incident section it shows, see CardVersion), so two changes in one
 * incident at once cannot deadlock on each other's alerts.
 * `alongside` (the changed alert's own rows) goes in the same statement: the pending rows are then
 * folded in one key order, whereas an own row folded before its siblings' let two changes in one
 * incident each hold the row the other wanted next (a deadlock).
 */
export async function notifyIncidentSiblings(
  trx: Db,
  alertIds: readonly string[],
  alongside: readonly OutboxMessage[] = [],
  formerIncidentIds: readonly string[] = [],
): Promise<void> {
  const siblings =
    alertIds.length === 0 && formerIncidentIds.length === 0
      ? []
      : await trx
          .selectFrom('alerts as sibling')
          .select('sibling.id')
          .where((eb) =>
            eb.or([
              ...(alertIds.length === 0
                ? []
                : [
                    eb(
                      'sibling.incident_id',
                      'in',
                      eb
                        .selectFrom('alerts as changed')
                        .select('changed.incident_id')
                        .where('changed.id', 'in', alertIds),
                    ),
                  ]),
              ...(formerIncidentIds.length === 0 ? [] : [eb('sibling.incident_id', 'in', formerIncidentIds)]),
            ]),
          )
          .$if(alertIds.length > 0, (query) => query.where('sibling.id', 'not in', alertIds))
          // A sibling with no card and no pending refresh has nowhere to show the counts: its last
          // job found no target (a card is created by its claim, before its row completes).
          .where((eb) =>
            eb.or([
              eb.exists(
                eb.selectFrom('cards').select('cards.id').whereRef('cards.alert_id', '=', 'sibling.id'),
              ),
              eb.exists(
                eb
                  .selectFrom('outbox')
                  .select('outbox.id')
                  .where(sql<boolean>`outbox.dedupe_key = ${NOTIFY_KEY_PREFIX} || sibling.id`)
                  .where('outbox.completed_at', 'is', null)
                  .where('outbox.failed_at', 'is', null),
              ),
            ]),
          )
          .orderBy('sibling.id')
          .execute();
  const messages = [...alongside, ...siblings.map((row) => notify(row.id, 'incident'))];
  // Chunks, in key order too, keep each statement well under Postgres's bind-parameter limit.
  for (let start = 0; start < messages.length; start += 5_000)
    await appendOutbox(trx, messages.slice(start, start + 5_000));
}

function decide(
  alert: StoredAlert,
  change: AlertChange,
  actor: Actor,
  now: Date,
): Result<{ alert: Alert; audit: AuditEntry | null }> {
  if (change.type === 'status') {
    const result = changeStatus(alert, change.request, actor, now);
    if (!result.ok) return result;
    const { changed, from, to } = result.value;
    return ok({
      alert: result.value.alert,
      audit: changed
        ? {
            alertId: alert.id,
            actor,
            action: 'alert.status_changed',
            details: {
              from,
              to,
              ...(change.request.classification === undefined
                ? {}
                : { classification: change.request.classification }),
              ...(change.request.determination === undefined
                ? {}
                : { determination: change.request.determination }),
              ...(change.request.comment === undefined ? {} : { comment: change.request.comment }),
            },
            at: now,
          }
        : null,
    });
  }
  const result = assignAlert(alert, change.assignee, now, change.expectedVersion);
  if (!result.ok) return result;
  return ok({
    alert: result.value.alert,
    audit: result.value.changed
      ? {
          alertId: alert.id,
          actor,
          action: 'alert.assigned',
          details: { assignee: change.assignee },
          at: now,
        }
      : null,
  });
}

const describe = (change: AlertChange): Record<string, unknown> =>
  change.type === 'status' ? { type: 'status', action: change.request.action } : { type: 'assign' };

export interface AlertFilter {
  readonly status?: readonly AlertStatus[] | undefined;
  readonly severity?: readonly Severity[] | undefined;
  readonly source?: readonly string[] | undefined;
  /** Opaque position from the previous page. */
  readonly cursor?: { readonly createdAt: Date; readonly id: string } | undefined;
  readonly limit: number;
}

/** Newest first, keyset-paginated on (created_at, id) so pages stay stable while alerts arrive. */
export async function listAlerts(db: Db, filter: AlertFilter): Promise<StoredAlert[]> {
  let query = db.selectFrom('alerts').selectAll();
  if (filter.status?.length) query = query.where('status', 'in', filter.status);
  if (filter.severity?.length) query = query.where('severity', 'in', filter.severity);
  if (filter.source?.length) query = query.where('source', 'in', filter.source);
  const cursor = filter.cursor;
  if (cursor !== undefined) {
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '<', cursor.createdAt),
        eb.and([eb('created_at', '=', cursor.createdAt), eb('id', '<', cursor.id)]),
      ]),
    );
  }
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
  return rows.map((row) => toAlert(row));
}
