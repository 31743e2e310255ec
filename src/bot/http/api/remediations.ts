import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  completeRemediation,
  exceptRemediation,
  fileRemediation,
} from '../../../app/commands/remediation.js';
import {
  actorKey,
  type Clock,
  checkDueDate,
  checkExceptionExpiry,
  type DomainError,
  EXCEPTION_REASONS,
  REMEDIATION_PRIORITIES,
  REMEDIATION_STATUSES,
  type RemediationStatus,
  splitDevices,
} from '../../../domain/index.js';
import { findAlertId } from '../../../storage/alert.repository.js';
import type { DbHandle } from '../../../storage/db.js';
import {
  eachRemediationPage,
  findRemediationId,
  getRemediation,
  listRemediations,
  type RemediationFilter,
  remediationDevices,
  remediationTrail,
  type StoredRemediation,
} from '../../../storage/remediation.repository.js';
import { sendDomainError, sendError, sendInvalid } from '../errors.js';
import { apiPerson } from './identity.js';
import { cursorParam, encodeCursor, listParam } from './query.js';

/** Filters shared by the JSON list and the CSV export. */
const filterQuery = z.object({
  status: listParam(REMEDIATION_STATUSES),
  priority: listParam(REMEDIATION_PRIORITIES),
  requester: z.string().min(1).max(200).optional(),
  dueBefore: z.iso.datetime({ offset: true }).pipe(z.coerce.date()).optional(),
  dueAfter: z.iso.datetime({ offset: true }).pipe(z.coerce.date()).optional(),
  /** Exceptions are listed apart, as on the Remediation page's Exceptions tab. */
  view: z.enum(['remediations', 'exceptions', 'all']).default('remediations'),
});

/** The export is of all remediation activity (seed 003): exceptions too, unless a view is asked. */
const csvQuery = filterQuery.extend({ view: z.enum(['remediations', 'exceptions', 'all']).default('all') });

const listQuery = filterQuery.extend({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: cursorParam,
});

const createBody = z
  .object({
    recommendation: z.string().trim().min(1).max(4_000).optional(),
    actionRef: z.string().trim().min(1).max(200).optional(),
    devices: z.array(z.string().max(255)).min(1).max(100_000),
    dueAt: z.iso.datetime({ offset: true }).pipe(z.coerce.date()),
    priority: z.enum(REMEDIATION_PRIORITIES).default('medium'),
    notes: z.string().max(10_000).default(''),
    alertId: z.string().min(1).max(64).optional(),
  })
  .strict()
  .refine((body) => body.recommendation !== undefined || body.actionRef !== undefined, {
    message: 'give a recommendation or an actionRef (what to fix)',
    path: ['recommendation'],
  });

const exceptionBody = z
  .object({
    reason: z.enum(EXCEPTION_REASONS),
    justification: z.string().trim().min(1).max(10_000),
    expiresAt: z.iso.datetime({ offset: true }).pipe(z.coerce.date()),
  })
  .strict();

const completeBody = z
  .object({ comment: z.string().max(10_000).optional() })
  .strict()
  .optional();

/** Idempotency keys end up in Jira labels and ServiceNow queries, so they stay plain. */
const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{8,100}$/;

export const remediationView = (r: StoredRemediation) => ({
  id: r.id,
  number: r.number,
  status: r.status,
  priority: r.priority,
  recommendation: r.subject.text,
  actionRef: r.subject.kind === 'investigation_action' ? r.subject.actionRef : null,
  deviceCount: r.deviceCount,
  devicesLeft: r.devicesLeft,
  dueAt: r.dueAt.toISOString(),
  notes: r.notes,
  requester: actorKey(r.requester),
  alertId: r.alertId,
  ticket: { connector: r.connector, externalId: r.externalId, url: r.externalUrl },
  exception:
    r.exception === null
      ? null
      : {
          reason: r.exception.reason,
          justification: r.exception.justification,
          expiresAt: r.exception.expiresAt.toISOString(),
          filedBy: actorKey(r.exception.filedBy),
          filedAt: r.exception.filedAt.toISOString(),
        },
  completedAt: r.completedAt?.toISOString() ?? null,
  completedBy: r.completedBy === null ? null : actorKey(r.completedBy),
  completionComment: r.completionComment,
  version: r.version,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

function statusOfRefusal(error: DomainError): number {
  if (error.code.endsWith('.not_found')) return 404;
  if (error.code === 'remediation.transition_not_allowed') return 409;
  return 400;
}

const sendRefusal = (reply: FastifyReply, error: DomainError) =>
  error.code === 'auth.forbidden'
    ? sendDomainError(reply, error)
    : sendError(reply, statusOfRefusal(error), error.code, error.message);

function toFilter(query: z.output<typeof filterQuery>): Omit<RemediationFilter, 'cursor' | 'limit'> {
  const byView: Record<typeof query.view, (status: RemediationStatus) => boolean> = {
    remediations: (status) => status !== 'exception',
    exceptions: (status) => status === 'exception',
    all: () => true,
  };
  const status = (query.status ?? [...REMEDIATION_STATUSES]).filter(byView[query.view]);
  return {
    // Every status is no filter: `status IN (all of them)` can lead Postgres to the status index and
    // a sort of every row per page, where the export walks (created_at, id) a page at a time.
    status: status.length === REMEDIATION_STATUSES.length ? undefined : status,
    priority: query.priority,
    requester: query.requester,
    dueBefore: query.dueBefore,
    dueAfter: query.dueAfter,
  };
}

/**
 * A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return before one) as
 * a formula; a leading single quote makes it text. Applied to every text cell of the export.
 */
export function neutraliseFormula(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

const CSV_COLUMNS = [
  'number',
  'id',
  'status',
  'priority',
  'recommendation',
  'action_ref',
  'devices',
  'devices_left',
  'due_at',
  'requester',
  'alert_id',
  'connector',
  'external_id',
  'external_url',
  'exception_reason',
  'exception_justification',
  'exception_expires_at',
  'completed_at',
  'completed_by',
  'completion_comment',
  'notes',
  'created_at',
] as const;

function csvRecord(r: StoredRemediation): string[] {
  const view = remediationView(r);
  const cells = [
    `R-${view.number}`,
    view.id,
    view.status,
    view.priority,
    view.recommendation,
    view.actionRef ?? '',
    String(view.deviceCount),
    String(view.devicesLeft),
    view.dueAt,
    view.requester,
    view.alertId ?? '',
    view.ticket.connector ?? '',
    view.ticket.externalId ?? '',
    view.ticket.url ?? '',
    view.exception?.reason ?? '',
    view.exception?.justification ?? '',
    view.exception?.expiresAt ?? '',
    view.completedAt ?? '',
    view.completedBy ?? '',
    view.completionComment ?? '',
    view.notes,
    view.createdAt,
  ];
  return cells.map(neutraliseFormula);
}

/**
 * Rows per chunk of the export: one page of the keyset read, written to the socket in one go.
 * A page is alive while it is formatted and written, and whatever is alive when the young
 * generation is collected is promoted, to wait for a full collection: at 1,000 rows that cost
 * ~3 MB of old space per scavenge and a peak of 220 MB; at 100, the export stays within 10 MB of idle.
 */
const CSV_PAGE = 100;

/**
 * The export, a page at a time: pulled as the client reads (Readable.from waits for the socket),
 * so memory holds one page whatever the total. Each page is quoted by csv-stringify in one call
 * and sent as one chunk; a write per row would spend most of the time in socket writes.
 */
export async function* remediationCsv(handle: DbHandle, filter: Omit<RemediationFilter, 'cursor' | 'limit'>) {
  // A UTF-8 byte order mark so spreadsheets read accents and scripts correctly.
  yield stringify([[...CSV_COLUMNS]], { bom: true });
  for await (const page of eachRemediationPage(handle.db, filter, CSV_PAGE)) {
    yield stringify(page.map(csvRecord));
  }
}

/**
 * `/api/remediations`: request remediation (devices capped per request, the rest handed back),
 * list with filters (exceptions apart), one with its devices and trail, complete, file an
 * exception, and a CSV export streamed page by page.
 */
export async function remediationRoutes(
  app: FastifyInstance,
  deps: { handle: DbHandle; clock: Clock },
): Promise<void> {
  const { handle, clock } = deps;

  app.post('/api/remediations', async (request, reply) => {
    const body = createBody.safeParse(request.body);
    if (!body.success) return sendInvalid(reply, body.error);
    const header = request.headers['idempotency-key'];
    if (header !== undefined && (typeof header !== 'string' || !IDEMPOTENCY_KEY.test(header))) {
      return sendError(
        reply,
        400,
        'request.invalid',
        'Idempotency-Key must be 8 to 100 letters, digits, _ or -.',
      );
    }
    const input = body.data;
    const due = checkDueDate(input.dueAt, clock);
    if (!due.ok) return sendRefusal(reply, due.error);
    let alertId: string | null = null;
    if (input.alertId !== undefined) {
      alertId = await findAlertId(handle.db, input.alertId);
      if (alertId === null) return sendError(reply, 404, 'alert.not_found', `No alert ${input.alertId}.`);
    }
    const split = splitDevices(input.devices);
    if (split.sent.length === 0) {
      return sendError(reply, 400, 'remediation.no_devices', 'Name at least one device (all were blank).');
    }
    const subject =
      input.actionRef === undefined
        ? { kind: 'recommendation' as const, text: input.recommendation ?? '' }
        : {
            kind: 'investigation_action' as const,
            actionRef: input.actionRef,
            text: input.recommendation ?? `Carry out investigation action ${input.actionRef}`,
          };
    const filed = await fileRemediation({ handle, clock }, apiPerson(request), {
      request: {
        subject,
        devices: input.devices,
        dueAt: input.dueAt,
        priority: input.priority,
        notes: input.notes,
        alertId,
      },
      split,
      idempotencyKey: typeof header === 'string' ? header : `rem-${randomUUID()}`,
    });
    if (!filed.ok) return sendDomainError(reply, filed.error);
    const { created, remediation } = filed.value;
    if (!created) {
      return reply.code(200).send({
        remediation: remediationView(remediation),
        sent: remediation.deviceCount,
        left: remediation.devicesLeft,
        message: 'This request was received before (same Idempotency-Key); nothing new was created.',
        leftDevices: [],
      });
    }
    return reply.code(201).send({
      remediation: remediationView(remediation),
      sent: split.sent.length,
      left: split.left.length,
      message: split.message,
      leftDevices: split.left,
    });
  });

  app.get('/api/remediations', async (request, reply) => {
    const query = listQuery.safeParse(request.query);
    if (!query.success) return sendInvalid(reply, query.error, 'query');
    const { limit, cursor } = query.data;
    const rows = await listRemediations(handle.db, { ...toFilter(query.data), cursor, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const nextCursor =
      rows.length > limit && last !== undefined ? encodeCursor(last.createdAt, last.id) : null;
    return { view: query.data.view, remediations: page.map(remediationView), nextCursor };
  });

  app.get('/api/remediations.csv', async (request, reply) => {
    const query = csvQuery.safeParse(request.query);
    if (!query.success) return sendInvalid(reply, query.error, 'query');
    const body = Readable.from(remediationCsv(handle, toFilter(query.data)));
    body.on('error', (error) => request.log.error({ err: error }, 'remediation CSV export failed midway'));
    reply.header('content-type', 'text/csv; charset=utf-8');
    reply.header('content-disposition', 'attachment; filename="remediations.csv"');
    return reply.send(body);
  });

  app.get<{ Params: { id: string } }>('/api/remediations/:id', async (request, reply) => {
    const id = await findRemediationId(handle.db, request.params.id);
    const remediation = id === null ? null : await getRemediation(handle.db, id);
    if (remediation === null) {
      return sendError(reply, 404, 'remediation.not_found', `No remediation ${request.params.id}.`);
    }
    const [devices, audit] = await Promise.all([
      remediationDevices(handle.db, remediation.id),
      remediationTrail(handle.db, remediation.id),
    ]);
    return {
      ...remediationView(remediation),
      devices,
      audit: audit.map((row) => ({ ...row, at: row.at.toISOString() })),
    };
  });

  app.post<{ Params: { id: string } }>('/api/remediations/:id/complete', async (request, reply) => {
    const body = completeBody.safeParse(request.body ?? undefined);
    if (!body.success) return sendInvalid(reply, body.error);
    const id = await findRemediationId(handle.db, request.params.id);
    if (id === null)
      return sendError(reply, 404, 'remediation.not_found', `No remediation ${request.params.id}.`);
    const result = await completeRemediation({ handle, clock }, apiPerson(request), {
      remediationId: id,
      comment: body.data?.comment,
    });
    if (!result.ok) return sendRefusal(reply, result.error);
    return { changed: result.value.changed, remediation: remediationView(result.value.remediation) };
  });

  app.post<{ Params: { id: string } }>('/api/remediations/:id/exception', async (request, reply) => {
    const body = exceptionBody.safeParse(request.body);
    if (!body.success) return sendInvalid(reply, body.error);
    const expiry = checkExceptionExpiry(body.data.expiresAt, clock);
    if (!expiry.ok) return sendRefusal(reply, expiry.error);
    const id = await findRemediationId(handle.db, request.params.id);
    if (id === null)
      return sendError(reply, 404, 'remediation.not_found', `No remediation ${request.params.id}.`);
    const result = await exceptRemediation({ handle, clock }, apiPerson(request), {
      remediationId: id,
      exception: body.data,
    });
    if (!result.ok) return sendRefusal(reply, result.error);
    return { changed: result.value.changed, remediation: remediationView(result.value.remediation) };
  });
}
