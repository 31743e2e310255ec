import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  applyTicketStatus,
  type Clock,
  RemediationErrorCode,
  type TicketConnector,
  ticketingActor,
} from '../../../domain/index.js';
import { jiraStatus } from '../../../integrations/ticketing/jira.js';
import type { TicketStatus } from '../../../integrations/ticketing/port.js';
import { serviceNowStatus } from '../../../integrations/ticketing/servicenow.js';
import type { DbHandle } from '../../../storage/db.js';
import { changeRemediation, findByTicket } from '../../../storage/remediation.repository.js';
import { bearerAuth } from '../auth.js';
import { sendError, sendInvalid } from '../errors.js';
import { jsonNestingExceeds, tooDeep } from '../json-depth.js';

/** Jira's `jira:issue_updated` webhook, the parts Vigil reads. */
const jiraBody = z.object({
  webhookEvent: z.string(),
  issue: z.object({
    id: z.string().optional(),
    key: z.string(),
    fields: z
      .object({
        status: z.object({ statusCategory: z.object({ key: z.string() }).optional() }).optional(),
        labels: z.array(z.string()).optional(),
      })
      .optional(),
  }),
});

/** A ServiceNow business rule (outbound REST message) posting the record it changed. */
const serviceNowBody = z.object({
  sys_id: z.string().min(1),
  state: z.coerce.string(),
  correlation_id: z.string().optional(),
  table: z.enum(['incident', 'sc_task']).default('incident'),
});

/** Any other system, answering Vigil's generic ticket webhook. */
const webhookBody = z
  .object({
    idempotencyKey: z.string().optional(),
    externalId: z.string().optional(),
    status: z.enum(['open', 'in_progress', 'done']),
  })
  .refine((body) => body.idempotencyKey !== undefined || body.externalId !== undefined, {
    message: 'name the ticket by idempotencyKey or externalId',
    path: ['idempotencyKey'],
  });

interface TicketUpdate {
  readonly ref: { readonly externalId?: string | undefined; readonly idempotencyKey?: string | undefined };
  readonly status: TicketStatus;
}

type Parsed = { ok: true; update: TicketUpdate | null } | { ok: false; error: z.ZodError };

const PARSERS: Record<Exclude<TicketConnector, 'builtin'>, (body: unknown) => Parsed> = {
  jira: (body) => {
    const parsed = jiraBody.safeParse(body);
    if (!parsed.success) return { ok: false, error: parsed.error };
    const { webhookEvent, issue } = parsed.data;
    // Only updates move a remediation; creations and deletions are someone else's business.
    if (webhookEvent !== 'jira:issue_updated') return { ok: true, update: null };
    const label = issue.fields?.labels?.find(
      (l) => l.startsWith('vigil-') && !l.startsWith('vigil-priority-'),
    );
    return {
      ok: true,
      update: {
        ref: { externalId: issue.key, idempotencyKey: label?.slice('vigil-'.length) },
        status: jiraStatus(issue.fields?.status?.statusCategory?.key),
      },
    };
  },
  servicenow: (body) => {
    const parsed = serviceNowBody.safeParse(body);
    if (!parsed.success) return { ok: false, error: parsed.error };
    const { sys_id, state, correlation_id, table } = parsed.data;
    return {
      ok: true,
      update: {
        ref: { externalId: sys_id, idempotencyKey: correlation_id },
        status: serviceNowStatus(table, state),
      },
    };
  },
  webhook: (body) => {
    const parsed = webhookBody.safeParse(body);
    if (!parsed.success) return { ok: false, error: parsed.error };
    return { ok: true, update: { ref: parsed.data, status: parsed.data.status } };
  },
};

/** The secret each connector's inbound webhook requires; a connector without one has no webhook. */
export interface TicketWebhookSecrets {
  readonly jira: string | undefined;
  readonly servicenow: string | undefined;
  readonly webhook: string | undefined;
}

type InboundConnector = keyof TicketWebhookSecrets;

const SECRET_VARIABLES: Readonly<Record<InboundConnector, string>> = {
  jira: 'VIGIL_JIRA_WEBHOOK_SECRET',
  servicenow: 'VIGIL_SERVICENOW_WEBHOOK_SECRET',
  webhook: 'VIGIL_TICKET_WEBHOOK_SECRET',
};

/**
 * Jira Cloud webhooks registered with a secret sign the body (`X-Hub-Signature: sha256=<hex>`),
 * and cannot send a bearer token.
 */
function signedWith(request: FastifyRequest, secret: string): boolean {
  const header = request.headers['x-hub-signature'];
  const raw = (request as FastifyRequest & { rawBody?: string }).rawBody;
  if (typeof header !== 'string' || raw === undefined) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const connectorOf = (request: FastifyRequest): InboundConnector | null => {
  const connector = (request.params as { connector?: string }).connector ?? '';
  return Object.hasOwn(PARSERS, connector) ? (connector as InboundConnector) : null;
};

/**
 * `POST /ingest/tickets/<connector>`: a ticketing system reports a ticket's change. Each
 * connector proves itself with its own secret (never the ingest token, which every alert source
 * holds), and may move only the remediations it tracks. A ticket that is done completes its
 * remediation (as the ticketing system); a started one moves it to In progress. Unknown tickets
 * are acknowledged and ignored, so the sender does not retry them.
 */
export async function ticketIngestRoutes(
  app: FastifyInstance,
  deps: { secrets: TicketWebhookSecrets; handle: DbHandle; clock: Clock },
): Promise<void> {
  const { handle, clock } = deps;
  const bearers = Object.fromEntries(
    Object.entries(deps.secrets).map(([connector, secret]) => [
      connector,
      secret === undefined ? undefined : bearerAuth(secret, `vigil-tickets-${connector}`),
    ]),
  ) as Record<InboundConnector, ReturnType<typeof bearerAuth> | undefined>;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    (request as FastifyRequest & { rawBody?: string }).rawBody = body as string;
    if (jsonNestingExceeds(body as string)) {
      done(tooDeep());
      return;
    }
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(
        Object.assign(new Error('The request body is not valid JSON.'), {
          statusCode: 400,
          code: 'request.invalid_json',
        }),
      );
    }
  });
  // A bearer token is checked before the body is read; only Jira's signature needs the body.
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const connector = connectorOf(request);
    if (connector === null) {
      const named = (request.params as { connector?: string }).connector ?? '';
      return sendError(
        reply,
        404,
        'route.not_found',
        `No ticket connector ${named.slice(0, 40)}: jira, servicenow or webhook.`,
      );
    }
    const bearer = bearers[connector];
    if (bearer === undefined) {
      return sendError(
        reply,
        404,
        'ticket_webhook.off',
        `The ${connector} ticket webhook is off: set ${SECRET_VARIABLES[connector]} to turn it on.`,
      );
    }
    if (connector === 'jira' && request.headers['x-hub-signature'] !== undefined) return;
    await bearer(request, reply);
  });
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const secret = deps.secrets.jira;
    if (connectorOf(request) !== 'jira' || request.headers['x-hub-signature'] === undefined) return;
    if (secret === undefined || !signedWith(request, secret)) {
      await sendError(reply, 401, 'auth.unauthorized', 'The X-Hub-Signature does not match.');
    }
  });

  app.post<{ Params: { connector: string } }>('/ingest/tickets/:connector', async (request, reply) => {
    const connector = connectorOf(request) as InboundConnector;
    const parsed = PARSERS[connector](request.body);
    if (!parsed.ok) return sendInvalid(reply, parsed.error);
    const update = parsed.update;
    if (update === null) return reply.code(202).send({ outcome: 'ignored' });
    const id = await findByTicket(handle.db, connector, update.ref);
    if (id === null) return reply.code(202).send({ outcome: 'unknown_ticket' });
    if (update.status === 'open') return reply.code(202).send({ remediationId: id, outcome: 'unchanged' });
    const status = update.status;
    const result = await changeRemediation(
      handle,
      id,
      clock,
      ticketingActor(connector),
      (current, now) => applyTicketStatus(current, connector, status, now),
      { auditRefusal: true },
    );
    if (!result.ok && result.error.code === RemediationErrorCode.WrongConnector) {
      request.log.warn({ connector, remediationId: id }, 'ticket update refused: another connector');
      return sendError(reply, 403, result.error.code, result.error.message);
    }
    // Other refusals (an overdue remediation whose ticket was merely started) are not the sender's fault.
    const outcome = result.ok ? (result.value.changed ? 'changed' : 'unchanged') : result.error.code;
    return reply.code(202).send({ remediationId: id, outcome });
  });
}
