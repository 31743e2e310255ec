import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { decideAction } from '../../../app/commands/decide-action.js';
import {
  ACTION_STATUSES,
  ApprovalErrorCode,
  type Clock,
  type Decision,
  type DomainError,
} from '../../../domain/index.js';
import type { DbHandle } from '../../../storage/db.js';
import { type ActionView, getAction, listActions } from '../../../storage/investigation-action.repository.js';
import { sendError, sendInvalid } from '../errors.js';
import { apiPerson } from './identity.js';

/** An action as the API shows it: dates as ISO strings. */
export function actionView(action: ActionView) {
  return {
    ...action,
    decisions: action.decisions.map((decision) => ({ ...decision, at: decision.at.toISOString() })),
    createdAt: action.createdAt.toISOString(),
    updatedAt: action.updatedAt.toISOString(),
  };
}

const listQuery = z.object({
  status: z
    .string()
    .default('pending_approval')
    .transform((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum([...ACTION_STATUSES, 'all'])))
    .transform((values) => (values.includes('all') ? [] : (values as (typeof ACTION_STATUSES)[number][]))),
  investigationId: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const decisionBody = z.object({ reason: z.string().max(2_000).optional() }).strict();

/** HTTP status of an approval refusal; a recorded first approval of two is Accepted. */
const STATUS: Readonly<Record<string, number>> = {
  [ApprovalErrorCode.NotFound]: 404,
  [ApprovalErrorCode.NotApprover]: 403,
  [ApprovalErrorCode.RequesterCannotApprove]: 403,
  [ApprovalErrorCode.AlreadyDecided]: 409,
  [ApprovalErrorCode.ReasonRequired]: 400,
  [ApprovalErrorCode.NeedsSecondApprover]: 202,
};

const sendApprovalError = (reply: FastifyReply, error: DomainError) =>
  reply.code(STATUS[error.code] ?? 400).send({
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  });

/** `/api/actions`: remediation actions (pending ones by default), one action, approve and reject as the calling person. */
export async function actionRoutes(
  app: FastifyInstance,
  deps: { handle: DbHandle; clock: Clock },
): Promise<void> {
  const { handle, clock } = deps;

  app.get('/api/actions', async (request, reply) => {
    const query = listQuery.safeParse(request.query);
    if (!query.success) return sendInvalid(reply, query.error, 'query');
    const actions = await listActions(handle.db, {
      statuses: query.data.status,
      limit: query.data.limit,
      ...(query.data.investigationId === undefined ? {} : { investigationId: query.data.investigationId }),
    });
    return { actions: actions.map(actionView) };
  });

  app.get<{ Params: { id: string } }>('/api/actions/:id', async (request, reply) => {
    const action = await getAction(handle.db, request.params.id);
    if (action === null)
      return sendError(reply, 404, ApprovalErrorCode.NotFound, `No action ${request.params.id}.`);
    return { action: actionView(action) };
  });

  for (const decision of ['approve', 'reject'] as const satisfies readonly Decision[]) {
    app.post<{ Params: { id: string } }>(`/api/actions/:id/${decision}`, async (request, reply) => {
      const body = decisionBody.safeParse(request.body ?? {});
      if (!body.success) return sendInvalid(reply, body.error);
      const result = await decideAction({ handle, clock }, apiPerson(request), {
        actionId: request.params.id,
        decision,
        reason: body.data.reason,
      });
      if (!result.ok) return sendApprovalError(reply, result.error);
      return { action: actionView(result.value) };
    });
  }
}
