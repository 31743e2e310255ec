import { sql } from 'kysely';
import {
  type Actor,
  type AuditEntry,
  actorKey,
  type Clock,
  type DeviceSplit,
  type ExceptionReason,
  fail,
  type OutboxMessage,
  ok,
  type Remediation,
  type RemediationChange,
  RemediationErrorCode,
  type RemediationPriority,
  type RemediationRequest,
  type RemediationStatus,
  type Result,
  reminderAt,
  type TicketConnector,
} from '../domain/index.js';
import { json } from './alert.mapper.js';
import { appendAudit } from './audit.repository.js';
import type { Db, DbHandle } from './db.js';
import { appendOutbox } from './outbox.repository.js';
import type { RemediationRow } from './schema.js';

/** A remediation as stored: the domain's Remediation plus its short number. */
export type StoredRemediation = Remediation & { readonly number: string; readonly idempotencyKey: string };

/** Every column but the device list, which only one remediation at a time needs. */
const COLUMNS = [
  'id',
  'number',
  'subject_kind',
  'recommendation',
  'action_ref',
  'alert_id',
  'device_count',
  'devices_left',
  'due_at',
  'priority',
  'notes',
  'requester',
  'requester_key',
  'status',
  'connector',
  'external_id',
  'external_url',
  'idempotency_key',
  'exception_reason',
  'exception_justification',
  'exception_expires_at',
  'exception_filed_by',
  'exception_filed_at',
  'completed_at',
  'completed_by',
  'completion_comment',
  'poll_seq',
  'version',
  'created_at',
  'updated_at',
] as const;

type ListedRow = Omit<RemediationRow, 'devices'>;

export function toRemediation(row: ListedRow): StoredRemediation {
  return {
    id: row.id,
    number: row.number,
    subject:
      row.subject_kind === 'investigation_action'
        ? { kind: 'investigation_action', actionRef: row.action_ref ?? '', text: row.recommendation }
        : { kind: 'recommendation', text: row.recommendation },
    deviceCount: row.device_count,
    devicesLeft: row.devices_left,
    dueAt: row.due_at,
    priority: row.priority as RemediationPriority,
    notes: row.notes,
    requester: row.requester as Actor,
    alertId: row.alert_id,
    status: row.status as RemediationStatus,
    connector: row.connector as TicketConnector | null,
    externalId: row.external_id,
    externalUrl: row.external_url,
    exception:
      row.exception_reason === null || row.exception_expires_at === null
        ? null
        : {
            reason: row.exception_reason as ExceptionReason,
            justification: row.exception_justification ?? '',
            expiresAt: row.exception_expires_at,
            filedBy: row.exception_filed_by as Actor,
            filedAt: row.exception_filed_at ?? row.updated_at,
          },
    completedAt: row.completed_at,
    completedBy: row.completed_by as Actor | null,
    completionComment: row.completion_comment,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    idempotencyKey: row.idempotency_key,
  };
}

/** The rows that keep a remediation's clock: a reminder a day ahead and the overdue check at the due date. */
function dueRows(remediationId: string, dueAt: Date, clock: Clock): OutboxMessage[] {
  const reminder = reminderAt(dueAt, clock);
  return [
    ...(reminder === null
      ? []
      : [
          {
            topic: 'remediation_due',
            payload: { remediationId, kind: 'reminder' },
            availableAt: reminder,
          } as const,
        ]),
    { topic: 'remediation_due', payload: { remediationId, kind: 'overdue' }, availableAt: dueAt },
  ];
}

const notice = (remediationId: string, kind: string, message: string): OutboxMessage => ({
  topic: 'remediation_notice',
  payload: { remediationId, kind, message },
});

export interface NewRemediation {
  readonly request: RemediationRequest;
  readonly split: DeviceSplit;
  /** The caller's Idempotency-Key, or one Vigil made: a second create with it returns the first. */
  readonly idempotencyKey: string;
}

/**
 * Stores a remediation request with its audit row and its outbox rows (open the ticket, the
 * reminder and the overdue check, delayed in Postgres) in one transaction. A request repeated
 * with the same idempotency key returns the remediation the first one made.
 */
export async function createRemediation(
  handle: DbHandle,
  clock: Clock,
  input: NewRemediation,
): Promise<{ readonly created: boolean; readonly remediation: StoredRemediation }> {
  const { request, split } = input;
  return handle.db.transaction().execute(async (trx) => {
    const now = clock.now();
    const inserted = await trx
      .insertInto('remediations')
      .values({
        subject_kind: request.subject.kind,
        recommendation: request.subject.text,
        action_ref: request.subject.kind === 'investigation_action' ? request.subject.actionRef : null,
        alert_id: request.alertId,
        devices: json(split.sent),
        device_count: split.sent.length,
        devices_left: split.left.length,
        due_at: request.dueAt,
        priority: request.priority,
        notes: request.notes,
        requester: json(request.requester),
        requester_key: actorKey(request.requester),
        idempotency_key: input.idempotencyKey,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .returning(COLUMNS)
      .executeTakeFirst();
    if (inserted === undefined) {
      const existing = await trx
        .selectFrom('remediations')
        .select(COLUMNS)
        .where('idempotency_key', '=', input.idempotencyKey)
        .executeTakeFirstOrThrow();
      return { created: false, remediation: toRemediation(existing) };
    }
    const remediation = toRemediation(inserted);
    await appendAudit(trx, [
      {
        alertId: request.alertId,
        actor: request.requester,
        action: 'remediation.created',
        details: {
          remediationId: remediation.id,
          number: remediation.number,
          priority: request.priority,
          dueAt: request.dueAt.toISOString(),
          sent: split.sent.length,
          left: split.left.length,
        },
        at: now,
      },
    ]);
    await appendOutbox(trx, [
      { topic: 'ticket', payload: { remediationId: remediation.id, kind: 'open' } },
      ...dueRows(remediation.id, request.dueAt, clock),
    ]);
    return { created: true, remediation };
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Finds a remediation by its UUID or its short number (`7`, `#7`, `R-7`), as people type it. */
export async function findRemediationId(db: Db, ref: string): Promise<string | null> {
  const trimmed = ref.trim().replace(/^(#|R-)/i, '');
  let query = db.selectFrom('remediations').select('id');
  if (UUID.test(trimmed)) query = query.where('id', '=', trimmed);
  else if (/^\d{1,18}$/.test(trimmed)) query = query.where('number', '=', trimmed as never);
  else return null;
  return (await query.executeTakeFirst())?.id ?? null;
}

export async function getRemediation(db: Db, id: string): Promise<StoredRemediation | null> {
  const row = await db.selectFrom('remediations').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : toRemediation(row);
}

export async function remediationDevices(db: Db, id: string): Promise<string[]> {
  const row = await db.selectFrom('remediations').select('devices').where('id', '=', id).executeTakeFirst();
  return row?.devices ?? [];
}

/** The remediation a ticketing system names (`SEC-42`, a ServiceNow sys_id) or whose key it carries. */
export async function findByTicket(
  db: Db,
  connector: TicketConnector,
  ref: { readonly externalId?: string | undefined; readonly idempotencyKey?: string | undefined },
): Promise<string | null> {
  if (ref.idempotencyKey !== undefined) {
    const row = await db
      .selectFrom('remediations')
      .select('id')
      .where('idempotency_key', '=', ref.idempotencyKey)
      .executeTakeFirst();
    if (row !== undefined) return row.id;
  }
  if (ref.externalId === undefined) return null;
  const row = await db
    .selectFrom('remediations')
    .select('id')
    .where('connector', '=', connector)
    .where('external_id', '=', ref.externalId)
    .executeTakeFirst();
  return row?.id ?? null;
}

/** The outbox rows a change brings: who is told, and which clock is set or reset. */
function followUps(change: RemediationChange, clock: Clock): OutboxMessage[] {
  const { remediation, event } = change;
  if (event === null) return [];
  const id = remediation.id;
  switch (event.type) {
    case 'remediation.complete':
      return [notice(id, 'completed', event.message)];
    case 'remediation.mark_overdue':
      return [notice(id, 'overdue', event.message)];
    case 'remediation.file_exception':
      return [
        notice(id, 'exception_filed', event.message),
        {
          topic: 'remediation_due',
          payload: { remediationId: id, kind: 'exception_expiry' },
          availableAt: remediation.exception?.expiresAt ?? clock.now(),
        },
      ];
    case 'remediation.exception_expired': {
      // Reopened work is due again: past its date it is overdue at once, else at the date.
      const now = clock.now();
      const dueAt = new Date(Math.max(remediation.dueAt.getTime(), now.getTime()));
      return [
        notice(id, 'exception_expired', event.message),
        { topic: 'remediation_due', payload: { remediationId: id, kind: 'overdue' }, availableAt: dueAt },
      ];
    }
    default:
      return [];
  }
}

/**
 * Applies one command in one transaction: the row is locked, the domain decides, and the new
 * state, its audit row and its outbox rows are written together. A refusal changes nothing but
 * is audited when a person asked, or when `auditRefusal` says a sender's refusal is news (a late
 * clock job that finds nothing to do is not).
 */
export async function changeRemediation(
  handle: DbHandle,
  id: string,
  clock: Clock,
  actor: Actor,
  decide: (remediation: StoredRemediation, now: Date) => Result<RemediationChange>,
  options: { readonly auditRefusal?: boolean } = {},
): Promise<Result<{ readonly changed: boolean; readonly remediation: StoredRemediation }>> {
  return handle.db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('remediations')
      .select(COLUMNS)
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (row === undefined) return fail(RemediationErrorCode.NotFound, `No remediation ${id}.`);
    const current = toRemediation(row);
    const now = clock.now();
    const decided = decide(current, now);
    if (!decided.ok) {
      if (actor.kind === 'user' || options.auditRefusal === true) {
        await appendAudit(trx, [
          {
            alertId: current.alertId,
            actor,
            action: 'remediation.change_refused',
            details: { remediationId: id, code: decided.error.code, reason: decided.error.message },
            at: now,
          },
        ]);
      }
      return decided;
    }
    const change = decided.value;
    if (!change.changed || change.event === null) return ok({ changed: false, remediation: current });
    const next = change.remediation;
    const updated = await trx
      .updateTable('remediations')
      .set({
        status: next.status,
        exception_reason: next.exception?.reason ?? null,
        exception_justification: next.exception?.justification ?? null,
        exception_expires_at: next.exception?.expiresAt ?? null,
        exception_filed_by: next.exception === null ? null : json(next.exception.filedBy),
        exception_filed_at: next.exception?.filedAt ?? null,
        completed_at: next.completedAt,
        completed_by: next.completedBy === null ? null : json(next.completedBy),
        completion_comment: next.completionComment,
        version: next.version,
        updated_at: now,
      })
      .where('id', '=', id)
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    const audit: AuditEntry = {
      alertId: current.alertId,
      actor: change.event.actor,
      action: change.event.type,
      details: { remediationId: id, ...change.event.details, message: change.event.message },
      at: now,
    };
    await appendAudit(trx, [audit]);
    await appendOutbox(trx, followUps(change, clock));
    return ok({ changed: true, remediation: toRemediation(updated) });
  });
}

/**
 * Records the ticket a connector opened, once: a retried job that finds the ticket already
 * recorded changes nothing. The first status poll is chained from here when the connector polls.
 */
export async function recordTicket(
  handle: DbHandle,
  id: string,
  clock: Clock,
  ticket: {
    readonly connector: TicketConnector;
    readonly externalId: string;
    readonly url: string;
    readonly reused: boolean;
  },
  firstPollAt: Date | null,
): Promise<boolean> {
  return handle.db.transaction().execute(async (trx) => {
    const now = clock.now();
    const updated = await trx
      .updateTable('remediations')
      .set({
        connector: ticket.connector,
        external_id: ticket.externalId,
        external_url: ticket.url,
        poll_seq: firstPollAt === null ? 0 : 1,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('external_id', 'is', null)
      .returning(['alert_id', 'connector'])
      .executeTakeFirst();
    if (updated === undefined) return false;
    const message = `Remediation ticket ${ticket.externalId} opened: ${ticket.url}`;
    await appendAudit(trx, [
      {
        alertId: updated.alert_id,
        actor: { kind: 'system' },
        action: 'remediation.ticket_opened',
        details: {
          remediationId: id,
          connector: updated.connector,
          externalId: ticket.externalId,
          url: ticket.url,
          // A ticket found by its idempotency key was opened by an earlier attempt whose answer was lost.
          reused: ticket.reused,
        },
        at: now,
      },
    ]);
    await appendOutbox(trx, [
      notice(id, 'ticket_opened', message),
      ...(firstPollAt === null
        ? []
        : [
            {
              topic: 'ticket',
              payload: { remediationId: id, kind: 'poll', seq: 1 },
              availableAt: firstPollAt,
            } as const,
          ]),
    ]);
    return true;
  });
}

/** Records that the ticket could not be opened for good (a 4xx from the ticketing system). */
export async function recordTicketFailed(
  handle: DbHandle,
  id: string,
  clock: Clock,
  reason: string,
): Promise<void> {
  await handle.db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('remediations')
      .select('alert_id')
      .where('id', '=', id)
      .executeTakeFirst();
    if (row === undefined) return;
    await appendAudit(trx, [
      {
        alertId: row.alert_id,
        actor: { kind: 'system' },
        action: 'remediation.ticket_failed',
        details: { remediationId: id, reason: reason.slice(0, 500) },
        at: clock.now(),
      },
    ]);
    await appendOutbox(trx, [
      notice(id, 'ticket_failed', `The remediation ticket could not be opened: ${reason.slice(0, 300)}`),
    ]);
  });
}

/**
 * Moves the poll chain one link on: only the job holding the current `seq` may, so a duplicate
 * delivery of a poll job cannot fork the chain. No next link once the work is finished.
 */
export async function chainNextPoll(handle: DbHandle, id: string, seq: number, at: Date): Promise<boolean> {
  return handle.db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('remediations')
      .set({ poll_seq: seq + 1 })
      .where('id', '=', id)
      .where('poll_seq', '=', seq)
      .where('status', '<>', 'completed')
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) return false;
    await appendOutbox(trx, [
      { topic: 'ticket', payload: { remediationId: id, kind: 'poll', seq: seq + 1 }, availableAt: at },
    ]);
    return true;
  });
}

/** Queues a notice to the requester and the routed channel (a reminder has no state change of its own). */
export async function queueNotice(
  handle: DbHandle,
  id: string,
  kind: string,
  message: string,
): Promise<void> {
  await handle.db.transaction().execute((trx) => appendOutbox(trx, [notice(id, kind, message)]));
}

/** Audits a notice delivered, so the trail shows who was told what. */
export async function recordNoticeSent(
  db: Db,
  remediation: StoredRemediation,
  kind: string,
  platforms: readonly string[],
  at: Date,
): Promise<void> {
  await appendAudit(db, [
    {
      alertId: remediation.alertId,
      actor: { kind: 'system' },
      action: 'remediation.notice_sent',
      details: { remediationId: remediation.id, kind, platforms, requester: actorKey(remediation.requester) },
      at,
    },
  ]);
}

/** The trail of one remediation, oldest first. */
export async function remediationTrail(db: Db, id: string) {
  const rows = await db
    .selectFrom('audit_log')
    .select(['id', 'actor_key', 'action', 'details', 'at'])
    .where(sql<string>`details->>'remediationId'`, '=', id)
    .where(sql<boolean>`details ? 'remediationId'`)
    .orderBy('id')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    actorKey: row.actor_key,
    action: row.action,
    details: row.details,
    at: row.at,
  }));
}

export interface RemediationFilter {
  readonly status?: readonly RemediationStatus[] | undefined;
  readonly priority?: readonly RemediationPriority[] | undefined;
  readonly requester?: string | undefined;
  readonly dueBefore?: Date | undefined;
  readonly dueAfter?: Date | undefined;
  /** Position after which the page starts (newest first). */
  readonly cursor?: { readonly createdAt: Date; readonly id: string } | undefined;
  readonly limit: number;
}

/** Newest first, keyset-paginated on (created_at, id): pages stay stable and cheap however deep. */
export async function listRemediations(db: Db, filter: RemediationFilter): Promise<StoredRemediation[]> {
  let query = db.selectFrom('remediations').select(COLUMNS);
  if (filter.status?.length) query = query.where('status', 'in', filter.status);
  if (filter.priority?.length) query = query.where('priority', 'in', filter.priority);
  if (filter.requester !== undefined) query = query.where('requester_key', '=', filter.requester);
  if (filter.dueBefore !== undefined) query = query.where('due_at', '<', filter.dueBefore);
  if (filter.dueAfter !== undefined) query = query.where('due_at', '>', filter.dueAfter);
  const cursor = filter.cursor;
  if (cursor !== undefined) {
    // A row comparison, not an OR: Postgres walks the (created_at, id) index straight to the page.
    query = query.where(sql<boolean>`(created_at, id) < (${cursor.createdAt}, ${cursor.id}::uuid)`);
  }
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
  return rows.map(toRemediation);
}

/**
 * Every remediation the filter matches, a page at a time (keyset, `pageSize` rows), so an export
 * of any size holds one page in memory.
 */
export async function* eachRemediationPage(
  db: Db,
  filter: Omit<RemediationFilter, 'cursor' | 'limit'>,
  pageSize: number,
): AsyncGenerator<StoredRemediation[]> {
  let cursor: RemediationFilter['cursor'];
  for (;;) {
    const page = await listRemediations(db, { ...filter, cursor, limit: pageSize });
    if (page.length > 0) yield page;
    const last = page.at(-1);
    if (page.length < pageSize || last === undefined) return;
    cursor = { createdAt: last.createdAt, id: last.id };
  }
}
