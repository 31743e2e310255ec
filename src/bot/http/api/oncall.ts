import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  type Clock,
  escalationPolicySpecSchema,
  personSchema,
  type Shift,
  scheduleProblem,
  scheduleSpecSchema,
} from '../../../domain/index.js';
import type { DbHandle } from '../../../storage/db.js';
import {
  addOverride,
  listEscalationPolicies,
  listSchedules,
  putNamed,
  whoIsOnCall,
} from '../../../storage/oncall.repository.js';
import { sendError, sendInvalid } from '../errors.js';
import { apiActor } from './identity.js';

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
    schedules: (await whoIsOnCall(handle.db, clock.now())).map(({ schedule, now, next }) => ({
      ...schedule,
      onCall: { now: shiftView(now), next: shiftView(next) },
    })),
  }));

  const putSchedule = async (name: string, body: unknown, create: boolean) => {
    const parsed = scheduleSpecSchema.safeParse(body);
    if (!parsed.success) return { status: 400 as const, error: parsed.error };
    if (parsed.data.name !== name)
      return { status: 400 as const, message: 'The name in the body must match the path.' };
    const problem = scheduleProblem(parsed.data);
    if (problem !== null) return { status: 400 as const, message: problem };
    const exists = (await listSchedules(handle.db)).some((s) => s.name === name);
    if (create === exists)
      return {
        status: create ? (409 as const) : (404 as const),
        message: create ? `Schedule "${name}" exists.` : `No schedule "${name}".`,
      };
    return { status: 200 as const };
  };

  app.post('/api/schedules', async (request, reply) => {
    const name = (request.body as { name?: unknown } | undefined)?.name;
    const check = await putSchedule(typeof name === 'string' ? name : '', request.body, true);
    if (check.status !== 200) {
      return 'error' in check && check.error !== undefined
        ? sendInvalid(reply, check.error)
        : sendError(reply, check.status, 'schedule.invalid', check.message ?? '');
    }
    const spec = scheduleSpecSchema.parse(request.body);
    const saved = await handle.db
      .transaction()
      .execute((trx) => putNamed(trx, 'schedule', spec.name, spec, apiActor(request), clock.now()));
    return reply.code(201).send({ ...spec, ...saved });
  });

  app.put<{ Params: { name: string } }>('/api/schedules/:name', async (request, reply) => {
    const check = await putSchedule(request.params.name, request.body, false);
    if (check.status !== 200) {
      return 'error' in check && check.error !== undefined
        ? sendInvalid(reply, check.error)
        : sendError(reply, check.status, 'schedule.invalid', check.message ?? '');
    }
    const spec = scheduleSpecSchema.parse(request.body);
    const saved = await handle.db
      .transaction()
      .execute((trx) => putNamed(trx, 'schedule', spec.name, spec, apiActor(request), clock.now()));
    return { ...spec, ...saved };
  });

  app.delete<{ Params: { name: string } }>('/api/schedules/:name', async (request, reply) => {
    const deleted = await handle.db
      .transaction()
      .execute((trx) => putNamed(trx, 'schedule', request.params.name, null, apiActor(request), clock.now()));
    return deleted === null
      ? sendError(reply, 404, 'schedule.not_found', `No schedule "${request.params.name}".`)
      : reply.code(204).send();
  });

  const overrideBody = z
    .object({ person: personSchema, startsAt: z.coerce.date(), endsAt: z.coerce.date() })
    .strict();
  app.post<{ Params: { name: string } }>('/api/schedules/:name/overrides', async (request, reply) => {
    const body = overrideBody.safeParse(request.body);
    if (!body.success) return sendInvalid(reply, body.error);
    if (body.data.endsAt <= body.data.startsAt)
      return sendError(reply, 400, 'override.invalid', 'An override must end after it starts.');
    const id = await addOverride(handle, request.params.name, body.data, apiActor(request), clock.now());
    return id === null
      ? sendError(reply, 404, 'schedule.not_found', `No schedule "${request.params.name}".`)
      : reply.code(201).send({ id });
  });

  app.get('/api/escalation-policies', async () => ({
    escalationPolicies: await listEscalationPolicies(handle.db),
  }));

  const saveEscalation = async (request: { body: unknown }, name: string | null, create: boolean) => {
    const parsed = escalationPolicySpecSchema.safeParse(request.body);
    if (!parsed.success) return { error: parsed.error } as const;
    if (name !== null && parsed.data.name !== name)
      return { status: 400, message: 'The name in the body must match the path.' } as const;
    const exists = (await listEscalationPolicies(handle.db)).some((e) => e.name === parsed.data.name);
    if (create === exists)
      return {
        status: create ? 409 : 404,
        message: `${create ? 'An' : 'No'} escalation policy "${parsed.data.name}"${create ? ' exists' : ''}.`,
      } as const;
    return { spec: parsed.data } as const;
  };

  app.post('/api/escalation-policies', async (request, reply) => {
    const checked = await saveEscalation(request, null, true);
    if ('error' in checked) return sendInvalid(reply, checked.error);
    if ('status' in checked)
      return sendError(reply, checked.status, 'escalation_policy.invalid', checked.message ?? '');
    const saved = await handle.db
      .transaction()
      .execute((trx) =>
        putNamed(trx, 'escalation_policy', checked.spec.name, checked.spec, apiActor(request), clock.now()),
      );
    return reply.code(201).send({ ...checked.spec, ...saved });
  });

  app.put<{ Params: { name: string } }>('/api/escalation-policies/:name', async (request, reply) => {
    const checked = await saveEscalation(request, request.params.name, false);
    if ('error' in checked) return sendInvalid(reply, checked.error);
    if ('status' in checked)
      return sendError(reply, checked.status, 'escalation_policy.invalid', checked.message ?? '');
    const saved = await handle.db
      .transaction()
      .execute((trx) =>
        putNamed(trx, 'escalation_policy', checked.spec.name, checked.spec, apiActor(request), clock.now()),
      );
    return { ...checked.spec, ...saved };
  });

  app.delete<{ Params: { name: string } }>('/api/escalation-policies/:name', async (request, reply) => {
    const deleted = await handle.db
      .transaction()
      .execute((trx) =>
        putNamed(trx, 'escalation_policy', request.params.name, null, apiActor(request), clock.now()),
      );
    return deleted === null
      ? sendError(reply, 404, 'escalation_policy.not_found', `No escalation policy "${request.params.name}".`)
      : reply.code(204).send();
  });
}
