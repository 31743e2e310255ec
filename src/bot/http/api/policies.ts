import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { savePolicy } from '../../../app/commands/policies.js';
import { addSilence, expireSilence, moveSilence } from '../../../app/commands/silences.js';
import { type Clock, type Policy, policySpecSchema, silenceSpecSchema } from '../../../domain/index.js';
import { auditRefused } from '../../../storage/audit.repository.js';
import type { DbHandle } from '../../../storage/db.js';
import { getPolicy, listPolicies, policyVersions } from '../../../storage/policy.repository.js';
import { getSilence, listSilences, type StoredSilence } from '../../../storage/silence.repository.js';
import { fieldIssues, sendDomainError, sendError, sendInvalid } from '../errors.js';
import { apiActor, apiPerson } from './identity.js';

const policyView = (policy: Policy) => ({
  id: policy.id,
  name: policy.name,
  version: policy.version,
  enabled: policy.enabled,
  position: policy.position,
  description: policy.description ?? null,
  conditions: policy.conditions,
  actions: policy.actions,
});

const silenceView = (silence: StoredSilence) => ({
  id: silence.id,
  labels: silence.labels,
  entities: silence.entities,
  startsAt: silence.startsAt.toISOString(),
  endsAt: silence.endsAt.toISOString(),
  createdBy: silence.createdBy,
  comment: silence.comment,
  mutedCount: silence.mutedCount,
});

/**
 * `/api/policies` (one policy at a time; `vigil policies apply` replaces them all at once) and
 * `/api/silences`. Every change is audited; a policy's previous versions stay readable.
 */
export async function policyRoutes(
  app: FastifyInstance,
  deps: { handle: DbHandle; clock: Clock },
): Promise<void> {
  const { handle, clock } = deps;

  // A refused policy or silence is audited (who tried what, which fields were wrong), then answered 400.
  const refuse = async (
    request: FastifyRequest,
    reply: FastifyReply,
    action: 'policy.refused' | 'silence.refused',
    error: z.ZodError,
  ) => {
    await auditRefused(handle.db, apiActor(request), action, { issues: fieldIssues(error) }, clock.now());
    return sendInvalid(reply, error);
  };

  app.get('/api/policies', async () => ({ policies: (await listPolicies(handle.db)).map(policyView) }));

  app.get<{ Params: { id: string } }>('/api/policies/:id', async (request, reply) => {
    const policy = await getPolicy(handle.db, request.params.id);
    if (policy === null) return sendError(reply, 404, 'policy.not_found', `No policy ${request.params.id}.`);
    const versions = await policyVersions(handle.db, policy.id);
    return {
      ...policyView(policy),
      versions: versions.map((v) => ({
        version: v.version,
        change: v.change,
        changedBy: v.changed_by,
        changedAt: v.changed_at.toISOString(),
        spec: v.spec,
      })),
    };
  });

  app.post('/api/policies', async (request, reply) => {
    const body = policySpecSchema.safeParse(request.body);
    if (!body.success) return refuse(request, reply, 'policy.refused', body.error);
    if ((await getPolicy(handle.db, body.data.name)) !== null) {
      return sendError(
        reply,
        409,
        'policy.exists',
        `A policy named "${body.data.name}" exists; PUT /api/policies/:id changes it.`,
      );
    }
    const saved = await savePolicy(deps, apiPerson(request), { name: body.data.name, spec: body.data });
    if (!saved.ok) return sendDomainError(reply, saved.error);
    return reply.code(201).send(saved.value === null ? null : policyView(saved.value));
  });

  app.put<{ Params: { id: string } }>('/api/policies/:id', async (request, reply) => {
    const body = policySpecSchema.safeParse(request.body);
    if (!body.success) return refuse(request, reply, 'policy.refused', body.error);
    const current = await getPolicy(handle.db, request.params.id);
    if (current === null) return sendError(reply, 404, 'policy.not_found', `No policy ${request.params.id}.`);
    if (body.data.name !== current.name) {
      return sendError(
        reply,
        400,
        'policy.rename_refused',
        'A policy keeps its name; create a new one and delete this one.',
      );
    }
    const saved = await savePolicy(deps, apiPerson(request), { name: current.name, spec: body.data });
    if (!saved.ok) return sendDomainError(reply, saved.error);
    return saved.value === null
      ? sendError(reply, 404, 'policy.not_found', 'The policy was deleted meanwhile.')
      : policyView(saved.value);
  });

  app.delete<{ Params: { id: string } }>('/api/policies/:id', async (request, reply) => {
    const current = await getPolicy(handle.db, request.params.id);
    if (current === null) return sendError(reply, 404, 'policy.not_found', `No policy ${request.params.id}.`);
    const deleted = await savePolicy(deps, apiPerson(request), { name: current.name, spec: null });
    if (!deleted.ok) return sendDomainError(reply, deleted.error);
    return reply.code(204).send();
  });

  const listQuery = z.object({ all: z.enum(['true', 'false']).default('false') });
  app.get('/api/silences', async (request, reply) => {
    const query = listQuery.safeParse(request.query);
    if (!query.success) return sendInvalid(reply, query.error, 'query');
    return {
      silences: (await listSilences(handle.db, clock.now(), query.data.all === 'true')).map(silenceView),
    };
  });

  app.get<{ Params: { id: string } }>('/api/silences/:id', async (request, reply) => {
    const silence = z.uuid().safeParse(request.params.id).success
      ? await getSilence(handle.db, request.params.id)
      : null;
    return silence === null
      ? sendError(reply, 404, 'silence.not_found', `No silence ${request.params.id}.`)
      : silenceView(silence);
  });

  app.post('/api/silences', async (request, reply) => {
    const body = silenceSpecSchema.safeParse(request.body);
    if (!body.success) return refuse(request, reply, 'silence.refused', body.error);
    const created = await addSilence(deps, apiPerson(request), {
      ...body.data,
      startsAt: body.data.startsAt ?? clock.now(),
    });
    if (!created.ok)
      return created.error.code === 'auth.forbidden'
        ? sendDomainError(reply, created.error)
        : sendError(reply, 400, created.error.code, created.error.message);
    return reply.code(201).send(silenceView(created.value));
  });

  // A silence's matchers are not edited in place (the count would lose its meaning); PUT only moves its end.
  app.put<{ Params: { id: string } }>('/api/silences/:id', async (request, reply) => {
    const body = z.object({ endsAt: z.coerce.date() }).strict().safeParse(request.body);
    if (!body.success) return sendInvalid(reply, body.error);
    if (!z.uuid().safeParse(request.params.id).success)
      return sendError(reply, 404, 'silence.not_found', 'No such silence.');
    const moved = await moveSilence(deps, apiPerson(request), {
      silenceId: request.params.id,
      endsAt: body.data.endsAt,
    });
    if (!moved.ok) return sendDomainError(reply, moved.error);
    return (await getSilence(handle.db, request.params.id)) as StoredSilence;
  });

  app.delete<{ Params: { id: string } }>('/api/silences/:id', async (request, reply) => {
    const id = request.params.id;
    if (!z.uuid().safeParse(id).success)
      return sendError(reply, 404, 'silence.not_found', `No active silence ${id}.`);
    const expired = await expireSilence(deps, apiPerson(request), { silenceId: id });
    if (!expired.ok) return sendDomainError(reply, expired.error);
    return reply.code(204).send();
  });
}
