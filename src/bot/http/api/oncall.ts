import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { addScheduleOverride, saveOnCallDefinition } from '../../../app/commands/oncall-config.js';
import {
  type Clock,
  escalationPolicySpecSchema,
  personSchema,
  type Shift,
  scheduleProblem,
  scheduleSpecSchema,
} from '../../../domain/index.js';
import type { DbHandle } from '../../../storage/db.js';
import { listEscalationPolicies, whoIsOnCall } from '../../../storage/oncall.repository.js';
import { sendDomainError, sendError, sendInvalid } from '../errors.js';
import { apiPerson } from './identity.js';

const shiftView = (shift: Shift | null) =>
  shift === null
    ? null
    : { people: shift.people, from: shift.from.toISOString(), until: shift.until?.toISOString() ?? null };

/**
 * `/api/schedules` (with who is on call now and next, and overrides) and
 * `/api/escalation-policies`. Both are addressed by name, as in the policies file; every change
 * is audited with the previous definition.
 */
export async function oncallRoutes(
  app: FastifyInstance,
  deps: { handle: DbHandle; clock: Clock },
): Promise<void> {
  const { handle, clock } = deps;

  app.get('/api/schedules', async () => ({
    schedules: (await whoIsOnCall(handle.db, clock.now())).map(({ schedule, now, next, overrides }) => ({
      ...schedule,
      onCall: { now: shiftView(now), next: shiftView(next) },
      overrides: overrides.map((o) => ({
        id: o.id,
        person: o.person,
        startsAt: o.startsAt.toISOString(),
        endsAt: o.endsAt.toISOString(),
      })),
    })),
  }));

  /** A schedule's body, checked before its command: the schema, the name against the path, the rotations. */
  const scheduleOf = (body: unknown, name: string | null) => {
    const parsed = scheduleSpecSchema.safeParse(body);
    if (!parsed.success) return { error: parsed.error } as const;
    if (name !== null && parsed.data.name !== name)
      return { message: 'The name in the body must match the path.' } as const;
    const problem = scheduleProblem(parsed.data);
    return problem === null ? ({ spec: parsed.data } as const) : ({ message: problem } as const);
  };

  const saveSchedule = async (request: FastifyRequest, reply: FastifyReply, name: string | null) => {
    const checked = scheduleOf(request.body, name);
    if ('error' in checked) return sendInvalid(reply, checked.error);
    if ('message' in checked) return sendError(reply, 400, 'schedule.invalid', checked.message);
    const saved = await saveOnCallDefinition(deps, apiPerson(request), {
      kind: 'schedule',
      name: checked.spec.name,
      spec: checked.spec,
      mode: name === null ? 'create' : 'replace',
    });
    if (!saved.ok) return sendDomainError(reply, saved.error);
    return reply.code(name === null ? 201 : 200).send({ ...checked.spec, ...saved.value });
  };

  app.post('/api/schedules', (request, reply) => saveSchedule(request, reply, null));

  app.put<{ Params: { name: string } }>('/api/schedules/:name', (request, reply) =>
    saveSchedule(request, reply, request.params.name),
  );

  const deleteDefinition = async (
    request: FastifyRequest,
    reply: FastifyReply,
    kind: 'schedule' | 'escalation_policy',
    name: string,
  ) => {
    const deleted = await saveOnCallDefinition(deps, apiPerson(request), {
      kind,
      name,
      spec: null,
      mode: 'delete',
    });
    if (!deleted.ok) return sendDomainError(reply, deleted.error);
    return reply.code(204).send();
  };

  app.delete<{ Params: { name: string } }>('/api/schedules/:name', (request, reply) =>
    deleteDefinition(request, reply, 'schedule', request.params.name),
  );

  const overrideBody = z
    .object({ person: personSchema, startsAt: z.coerce.date(), endsAt: z.coerce.date() })
    .strict();
  app.post<{ Params: { name: string } }>('/api/schedules/:name/overrides', async (request, reply) => {
    const body = overrideBody.safeParse(request.body);
    if (!body.success) return sendInvalid(reply, body.error);
    if (body.data.endsAt <= body.data.startsAt)
      return sendError(reply, 400, 'override.invalid', 'An override must end after it starts.');
    const added = await addScheduleOverride(deps, apiPerson(request), {
      scheduleName: request.params.name,
      override: body.data,
    });
    if (!added.ok) return sendDomainError(reply, added.error);
    return reply.code(201).send({ id: added.value });
  });

  app.get('/api/escalation-policies', async () => ({
    escalationPolicies: await listEscalationPolicies(handle.db),
  }));

  const saveEscalation = async (request: FastifyRequest, reply: FastifyReply, name: string | null) => {
    const parsed = escalationPolicySpecSchema.safeParse(request.body);
    if (!parsed.success) return sendInvalid(reply, parsed.error);
    if (name !== null && parsed.data.name !== name)
      return sendError(reply, 400, 'escalation_policy.invalid', 'The name in the body must match the path.');
    const saved = await saveOnCallDefinition(deps, apiPerson(request), {
      kind: 'escalation_policy',
      name: parsed.data.name,
      spec: parsed.data,
      mode: name === null ? 'create' : 'replace',
    });
    if (!saved.ok) return sendDomainError(reply, saved.error);
    return reply.code(name === null ? 201 : 200).send({ ...parsed.data, ...saved.value });
  };

  app.post('/api/escalation-policies', (request, reply) => saveEscalation(request, reply, null));

  app.put<{ Params: { name: string } }>('/api/escalation-policies/:name', (request, reply) =>
    saveEscalation(request, reply, request.params.name),
  );

  app.delete<{ Params: { name: string } }>('/api/escalation-policies/:name', (request, reply) =>
    deleteDefinition(request, reply, 'escalation_policy', request.params.name),
  );
}
