import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ALERT_STATUSES, CLASSIFICATIONS, type Clock, DETERMINATIONS } from '../../../domain/index.js';
import type { DbHandle } from '../../../storage/db.js';
import {
  getIncident,
  type IncidentView,
  incidentAlerts,
  listIncidents,
  resolveIncident,
} from '../../../storage/incident.repository.js';
import { sendDomainError, sendError, sendInvalid } from '../errors.js';
import { alertView } from './alert-view.js';
import { apiPerson } from './identity.js';
import { cursorParam, encodeCursor, listParam } from './query.js';

const listQuery = z.object({
  status: listParam(ALERT_STATUSES),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: cursorParam,
});

/** Only resolving is asked of a whole incident; its alerts move one by one otherwise. */
const statusBody = z
  .object({
    status: z.literal('resolved'),
    classification: z.enum(CLASSIFICATIONS),
    determination: z.enum(DETERMINATIONS).optional(),
    comment: z.string().max(10_000).optional(),
  })
  .strict();

export const incidentView = (incident: IncidentView) => ({
  id: incident.id,
  graphId: incident.graphId,
  displayName: incident.displayName,
  severity: incident.severity,
  webUrl: incident.webUrl,
  status: incident.status,
  alertCount: incident.alertCount,
  alertStatuses: incident.alertStatuses,
  defender: { ...incident.defender, lastUpdateAt: incident.defender.lastUpdateAt?.toISOString() ?? null },
  writeBackError: incident.writeBackError,
  createdAt: incident.createdAt.toISOString(),
  updatedAt: incident.updatedAt.toISOString(),
});

/** `/api/incidents`: Defender incidents, their alerts, and "Resolve incident". */
export async function incidentRoutes(
  app: FastifyInstance,
  deps: { handle: DbHandle; clock: Clock },
): Promise<void> {
  const { handle, clock } = deps;

  app.get('/api/incidents', async (request, reply) => {
    const query = listQuery.safeParse(request.query);
    if (!query.success) return sendInvalid(reply, query.error, 'query');
    const { limit, ...filter } = query.data;
    const incidents = await listIncidents(handle.db, { ...filter, limit: limit + 1 });
    const page = incidents.slice(0, limit);
    const last = page.at(-1);
    const nextCursor =
      incidents.length > limit && last !== undefined ? encodeCursor(last.createdAt, last.id) : null;
    return { incidents: page.map(incidentView), nextCursor };
  });

  app.get<{ Params: { id: string } }>('/api/incidents/:id', async (request, reply) => {
    const incident = await getIncident(handle.db, request.params.id);
    if (incident === null)
      return sendError(reply, 404, 'incident.not_found', `No incident ${request.params.id}.`);
    const alerts = await incidentAlerts(handle.db, incident.id);
    return { ...incidentView(incident), alerts };
  });

  app.post<{ Params: { id: string } }>('/api/incidents/:id/status', async (request, reply) => {
    const body = statusBody.safeParse(request.body);
    if (!body.success) return sendInvalid(reply, body.error);
    const incident = await getIncident(handle.db, request.params.id);
    if (incident === null)
      return sendError(reply, 404, 'incident.not_found', `No incident ${request.params.id}.`);
    const { status: _resolved, ...resolution } = body.data;
    const person = apiPerson(request);
    const result = await resolveIncident(handle, incident.id, person.actor, person.role, clock, resolution);
    if (!result.ok) return sendDomainError(reply, result.error);
    const after = await getIncident(handle.db, incident.id);
    return {
      resolved: result.value.resolved.map((outcome) => alertView(outcome.alert)),
      refused: result.value.refused,
      incident: after === null ? null : incidentView(after),
    };
  });
}
