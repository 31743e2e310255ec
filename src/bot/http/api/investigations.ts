import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  addInvestigationRule,
  addWatchlistEntry,
  removeInvestigationRule,
  removeWatchlistEntry,
} from '../../../app/commands/investigation-config.js';
import { startInvestigation } from '../../../app/commands/start-investigation.js';
import { terminateInvestigation } from '../../../app/commands/terminate-investigation.js';
import {
  AUTOMATION_LEVELS,
  type Clock,
  DEFAULT_JOIN_WINDOW_SECONDS,
  DEFAULT_PLAYBOOK,
  INVESTIGATION_ENTITY_KINDS,
  INVESTIGATION_STATUSES,
  OPEN_INVESTIGATION_STATUSES,
  playbookSchema,
  SEVERITIES,
} from '../../../domain/index.js';
import { findAlertId } from '../../../storage/alert.repository.js';
import type { DbHandle } from '../../../storage/db.js';
import {
  listRules,
  listWatchlist,
  type RuleView,
  type WatchlistEntry,
} from '../../../storage/investigation-config.repository.js';
import {
  type InvestigationListItem,
  listInvestigations,
} from '../../../storage/investigation-list.repository.js';
import {
  getInvestigationDetail,
  type InvestigationDetail,
} from '../../../storage/investigation-view.repository.js';
import { sendDomainError, sendError, sendInvalid } from '../errors.js';
import { actionView } from './actions.js';
import { apiPerson } from './identity.js';
import { cursorParam, encodeCursor, listParam } from './query.js';

/** `?status=active` is shorthand for the statuses of investigations still at work. */
const statusParam = listParam([...INVESTIGATION_STATUSES, 'active']).transform((values) =>
  values?.flatMap((value) => (value === 'active' ? [...OPEN_INVESTIGATION_STATUSES] : [value])),
);

const listQuery = z
  .object({
    status: statusParam,
    triggerAlert: z.string().trim().min(1).max(100).optional(),
    entityKind: z.enum(INVESTIGATION_ENTITY_KINDS).optional(),
    entityKey: z.string().trim().min(1).max(1_000).optional(),
    createdAfter: z.iso.datetime({ offset: true }).pipe(z.coerce.date()).optional(),
    createdBefore: z.iso.datetime({ offset: true }).pipe(z.coerce.date()).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: cursorParam,
  })
  .refine((query) => (query.entityKind === undefined) === (query.entityKey === undefined), {
    message: 'entityKind and entityKey go together',
    path: ['entityKey'],
  });

const listItemView = (item: InvestigationListItem) => ({
  ...item,
  createdAt: item.createdAt.toISOString(),
  updatedAt: item.updatedAt.toISOString(),
  finishedAt: item.finishedAt?.toISOString() ?? null,
});

const ruleBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    source: z.string().trim().min(1).max(100).nullable().default(null),
    minSeverity: z.enum(SEVERITIES).default('informational'),
    category: z.string().trim().min(1).max(200).nullable().default(null),
    playbook: playbookSchema.default(DEFAULT_PLAYBOOK),
    automation: z.enum(AUTOMATION_LEVELS).default('semi'),
    joinWindowSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .default(DEFAULT_JOIN_WINDOW_SECONDS),
    enabled: z.boolean().default(true),
  })
  .strict();

const watchBody = z
  .object({
    kind: z.enum(INVESTIGATION_ENTITY_KINDS),
    value: z.string().trim().min(1).max(1_000),
    verdict: z.enum(['suspicious', 'malicious']).default('malicious'),
    reason: z.string().trim().min(1).max(1_000),
  })
  .strict();

const ruleView = (rule: RuleView) => ({ ...rule, createdAt: rule.createdAt.toISOString() });
const watchView = (entry: WatchlistEntry) => ({ ...entry, createdAt: entry.createdAt.toISOString() });

/** An investigation as the API shows it: dates as ISO strings. */
export function investigationView(detail: InvestigationDetail) {
  const iso = (date: Date | null) => date?.toISOString() ?? null;
  return {
    ...detail,
    createdAt: iso(detail.createdAt),
    updatedAt: iso(detail.updatedAt),
    finishedAt: iso(detail.finishedAt),
    alerts: detail.alerts.map((alert) => ({ ...alert, joinedAt: iso(alert.joinedAt) })),
    findings: detail.findings.map((finding) => ({ ...finding, at: iso(finding.at) })),
    log: detail.log.map((step) => ({ ...step, startedAt: iso(step.startedAt), endedAt: iso(step.endedAt) })),
    actions: detail.actions.map(actionView),
    pendingActions: detail.pendingActions.map(actionView),
  };
}

/**
 * `/api/alerts/:id/investigate`, `/api/investigations` (list, one, terminate),
 * `/api/investigation-rules` and `/api/watchlist`, as the calling person.
 */
export async function investigationRoutes(
  app: FastifyInstance,
  deps: { handle: DbHandle; clock: Clock },
): Promise<void> {
  const { handle, clock } = deps;

  app.post<{ Params: { id: string } }>('/api/alerts/:id/investigate', async (request, reply) => {
    const id = await findAlertId(handle.db, request.params.id);
    if (id === null) return sendError(reply, 404, 'alert.not_found', `No alert ${request.params.id}.`);
    const started = await startInvestigation({ handle, clock }, apiPerson(request), { alertId: id });
    if (!started.ok) return sendDomainError(reply, started.error);
    return reply.code(started.value.created ? 202 : 200).send(started.value);
  });

  app.get('/api/investigations', async (request, reply) => {
    const query = listQuery.safeParse(request.query);
    if (!query.success) return sendInvalid(reply, query.error, 'query');
    const { triggerAlert, entityKind, entityKey, createdAfter, createdBefore, limit, cursor } = query.data;
    let triggerAlertId: string | undefined;
    if (triggerAlert !== undefined) {
      const found = await findAlertId(handle.db, triggerAlert);
      // An alert that does not exist triggered nothing: an empty page, not an error.
      if (found === null) return { investigations: [], nextCursor: null };
      triggerAlertId = found;
    }
    const rows = await listInvestigations(handle.db, {
      statuses: query.data.status,
      triggerAlertId,
      entity:
        entityKind === undefined || entityKey === undefined
          ? undefined
          : { kind: entityKind, key: entityKey },
      createdAfter,
      createdBefore,
      cursor,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      investigations: page.map(listItemView),
      nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.createdAt, last.id) : null,
    };
  });

  app.post<{ Params: { id: string } }>('/api/investigations/:id/terminate', async (request, reply) => {
    const result = await terminateInvestigation({ handle, clock }, apiPerson(request), {
      investigationId: request.params.id,
    });
    if (!result.ok) return sendDomainError(reply, result.error);
    const detail = await getInvestigationDetail(handle.db, request.params.id);
    if (detail === null) {
      return sendError(reply, 404, 'investigation.not_found', `No investigation ${request.params.id}.`);
    }
    return {
      changed: result.value.changed,
      cancelledActions: result.value.cancelledActions,
      investigation: investigationView(detail),
    };
  });

  app.get<{ Params: { id: string } }>('/api/investigations/:id', async (request, reply) => {
    const detail = await getInvestigationDetail(handle.db, request.params.id);
    if (detail === null) {
      return sendError(reply, 404, 'investigation.not_found', `No investigation ${request.params.id}.`);
    }
    return investigationView(detail);
  });

  app.get('/api/investigation-rules', async () => ({ rules: (await listRules(handle.db)).map(ruleView) }));

  app.post('/api/investigation-rules', async (request, reply) => {
    const body = ruleBody.safeParse(request.body);
    if (!body.success) return sendInvalid(reply, body.error);
    const added = await addInvestigationRule(deps, apiPerson(request), body.data);
    if (!added.ok) return sendDomainError(reply, added.error);
    return reply.code(201).send(ruleView(added.value));
  });

  app.delete<{ Params: { id: string } }>('/api/investigation-rules/:id', async (request, reply) => {
    const removed = await removeInvestigationRule(deps, apiPerson(request), { ruleId: request.params.id });
    if (!removed.ok) return sendDomainError(reply, removed.error);
    return reply.code(204).send();
  });

  app.get('/api/watchlist', async () => ({ entries: (await listWatchlist(handle.db)).map(watchView) }));

  app.post('/api/watchlist', async (request, reply) => {
    const body = watchBody.safeParse(request.body);
    if (!body.success) return sendInvalid(reply, body.error);
    const added = await addWatchlistEntry(deps, apiPerson(request), body.data);
    if (!added.ok) return sendDomainError(reply, added.error);
    return reply.code(201).send(watchView(added.value));
  });

  app.delete<{ Params: { id: string } }>('/api/watchlist/:id', async (request, reply) => {
    const removed = await removeWatchlistEntry(deps, apiPerson(request), { entryId: request.params.id });
    if (!removed.ok) return sendDomainError(reply, removed.error);
    return reply.code(204).send();
  });
}
