import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { changeAlertStatus } from '../../../app/commands/change-alert-status.js';
import {
  ALERT_STATUSES,
  actionForStatus,
  CLASSIFICATIONS,
  type Clock,
  SEVERITIES,
} from '../../../domain/index.js';
import { findAlertId, listAlerts } from '../../../storage/alert.repository.js';
import { alertWithFirstEntities, latestAudit } from '../../../storage/alert-pages.repository.js';
import { cardsOf } from '../../../storage/card.repository.js';
import type { DbHandle } from '../../../storage/db.js';
import { investigationsOfAlert } from '../../../storage/investigation-view.repository.js';
import { sendDomainError, sendError, sendInvalid } from '../errors.js';
import { DETAIL_AUDIT, DETAIL_ENTITIES } from './alert-pages.js';
import { alertDetailView, alertView } from './alert-view.js';
import { apiPerson } from './identity.js';
import { cursorParam, encodeCursor, listParam, stringListParam } from './query.js';

const listQuery = z.object({
  status: listParam(ALERT_STATUSES),
  severity: listParam(SEVERITIES),
  source: stringListParam,
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: cursorParam,
});

const statusBody = z
  .object({
    status: z.enum(ALERT_STATUSES),
    classification: z.enum(CLASSIFICATIONS).optional(),
    comment: z.string().max(10_000).optional(),
    expectedVersion: z.number().int().positive().optional(),
  })
  .strict();

// Kept where API routes have always found it; who acts comes from the token (./identity.ts).
export { apiActor } from './identity.js';

/** `/api/alerts`: list, detail, and status changes through the same commands chat buttons use. */
export async function alertRoutes(
  app: FastifyInstance,
  deps: { handle: DbHandle; clock: Clock },
): Promise<void> {
  const { handle, clock } = deps;

  app.get('/api/alerts', async (request, reply) => {
    const query = listQuery.safeParse(request.query);
    if (!query.success) return sendInvalid(reply, query.error, 'query');
    const { limit, ...filter } = query.data;
    const alerts = await listAlerts(handle.db, { ...filter, limit: limit + 1 });
    const page = alerts.slice(0, limit);
    const last = page.at(-1);
    const nextCursor =
      alerts.length > limit && last !== undefined ? encodeCursor(last.createdAt, last.id) : null;
    return { alerts: page.map(alertView), nextCursor };
  });

  app.get<{ Params: { id: string } }>('/api/alerts/:id', async (request, reply) => {
    const id = await findAlertId(handle.db, request.params.id);
    const found = id === null ? null : await alertWithFirstEntities(handle.db, id, DETAIL_ENTITIES);
    if (found === null) return sendError(reply, 404, 'alert.not_found', `No alert ${request.params.id}.`);
    const { alert, entityCount } = found;
    const [audit, cards, investigations] = await Promise.all([
      latestAudit(handle.db, alert.id, DETAIL_AUDIT),
      cardsOf(handle.db, alert.id),
      investigationsOfAlert(handle.db, alert.id),
    ]);
    // Bounded: the first entities and the latest audit entries; the rest page through
    // /api/alerts/:id/entities and /audit.
    return {
      ...alertDetailView(alert, audit.entries, cards, investigations),
      entityCount,
      entitiesTruncated: entityCount > alert.entities.length,
      auditTruncated: audit.older,
    };
  });

  app.post<{ Params: { id: string } }>('/api/alerts/:id/status', async (request, reply) => {
    const body = statusBody.safeParse(request.body);
    if (!body.success) return sendInvalid(reply, body.error);
    const id = await findAlertId(handle.db, request.params.id);
    if (id === null) return sendError(reply, 404, 'alert.not_found', `No alert ${request.params.id}.`);
    const { status, ...rest } = body.data;
    const result = await changeAlertStatus({ handle, clock }, apiPerson(request), {
      alertId: id,
      request: { action: actionForStatus(status), ...rest },
    });
    if (!result.ok) return sendDomainError(reply, result.error);
    return { changed: result.value.changed, alert: alertView(result.value.alert) };
  });
}
