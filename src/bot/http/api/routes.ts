import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { addRoute, removeRoute } from '../../../app/commands/routes.js';
import { type Clock, SEVERITIES } from '../../../domain/index.js';
import type { DbHandle } from '../../../storage/db.js';
import { type ChatRoute, listRoutes } from '../../../storage/slack-route.repository.js';
import { sendDomainError, sendInvalid } from '../errors.js';
import { apiPerson } from './identity.js';

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
export async function chatRouteRoutes(
  app: FastifyInstance,
  deps: { handle: DbHandle; clock: Clock },
): Promise<void> {
  const { handle, clock } = deps;

  app.get('/api/routes', async () => ({ routes: (await listRoutes(handle.db)).map(routeView) }));

  app.post('/api/routes', async (request, reply) => {
    const body = routeBody.safeParse(request.body);
    if (!body.success) return sendInvalid(reply, body.error);
    const route = await addRoute({ handle, clock }, apiPerson(request), body.data);
    if (!route.ok) return sendDomainError(reply, route.error);
    return reply.code(201).send(routeView(route.value));
  });

  app.delete<{ Params: { id: string } }>('/api/routes/:id', async (request, reply) => {
    const removed = await removeRoute({ handle, clock }, apiPerson(request), { routeId: request.params.id });
    if (!removed.ok) return sendDomainError(reply, removed.error);
    return reply.code(204).send();
  });
}
