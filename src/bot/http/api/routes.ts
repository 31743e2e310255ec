import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SEVERITIES } from '../../../domain/index.js';
import type { DbHandle } from '../../../storage/db.js';
import {
  addRoute,
  type ChatRoute,
  listRoutes,
  removeRoute,
} from '../../../storage/slack-route.repository.js';
import { sendError, sendInvalid } from '../errors.js';
import { apiActor } from './alerts.js';

const routeBody = z
  .object({
    platform: z.literal('slack').default('slack'),
    channel: z.string().regex(/^[CG][A-Z0-9]{2,20}$/, 'must be a Slack channel ID such as C0123ABCD'),
    sources: z.array(z.string().trim().min(1).max(100)).max(50).default([]),
    minSeverity: z.enum(SEVERITIES).nullable().default(null),
    labels: z.record(z.string().min(1).max(100), z.string().max(200)).default({}),
  })
  .strict();

const routeView = (route: ChatRoute) => ({
  id: route.id,
  platform: route.platform,
  channel: route.channel,
  sources: route.sources,
  minSeverity: route.minSeverity,
  labels: route.labels,
  position: route.position,
  createdBy: route.createdBy,
  createdAt: route.createdAt.toISOString(),
});

/** `/api/routes`: which chat channels get which alerts (the same routes `/vigil route` manages). */
export async function chatRouteRoutes(app: FastifyInstance, deps: { handle: DbHandle }): Promise<void> {
  const { handle } = deps;

  app.get('/api/routes', async () => ({ routes: (await listRoutes(handle.db)).map(routeView) }));

  app.post('/api/routes', async (request, reply) => {
    const body = routeBody.safeParse(request.body);
    if (!body.success) return sendInvalid(reply, body.error);
    const route = await addRoute(handle.db, body.data, apiActor(request));
    return reply.code(201).send(routeView(route));
  });

  app.delete<{ Params: { id: string } }>('/api/routes/:id', async (request, reply) => {
    if (!(await removeRoute(handle.db, request.params.id))) {
      return sendError(reply, 404, 'route.not_found', `No route ${request.params.id}.`);
    }
    return reply.code(204).send();
  });
}
