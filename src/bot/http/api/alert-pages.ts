import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { findAlertId } from '../../../storage/alert.repository.js';
import { alertEntityPage, auditPage } from '../../../storage/alert-pages.repository.js';
import type { DbHandle } from '../../../storage/db.js';
import { sendError, sendInvalid } from '../errors.js';

/** How many entities and audit entries `GET /api/alerts/:id` carries; the rest are paged below. */
export const DETAIL_ENTITIES = 100;
export const DETAIL_AUDIT = 100;

/** A position in a list, opaque to callers: the sort key of the last row they got. */
const encode = (key: readonly string[]): string => Buffer.from(JSON.stringify(key)).toString('base64url');

const cursor = (length: number) =>
  z
    .string()
    .transform((value, ctx) => {
      try {
        const key = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown;
        if (Array.isArray(key) && key.length === length && key.every((part) => typeof part === 'string'))
          return key as string[];
      } catch {
        // reported below
      }
      ctx.addIssue({ code: 'custom', message: 'is not a cursor this API gave out' });
      return z.NEVER;
    })
    .optional();

const pageQuery = (cursorLength: number) =>
  z.object({ limit: z.coerce.number().int().min(1).max(500).default(100), cursor: cursor(cursorLength) });
const entityQuery = pageQuery(2);
const auditQuery = pageQuery(1);

/** `GET /api/alerts/:id/entities` and `/audit`: the whole lists, a page at a time. */
export async function alertPageRoutes(app: FastifyInstance, deps: { handle: DbHandle }): Promise<void> {
  const { db } = deps.handle;

  app.get<{ Params: { id: string } }>('/api/alerts/:id/entities', async (request, reply) => {
    const query = entityQuery.safeParse(request.query);
    if (!query.success) return sendInvalid(reply, query.error, 'query');
    const id = await findAlertId(db, request.params.id);
    if (id === null) return sendError(reply, 404, 'alert.not_found', `No alert ${request.params.id}.`);
    const { limit, cursor: after } = query.data;
    const rows = await alertEntityPage(
      db,
      id,
      limit + 1,
      after === undefined ? undefined : { kind: after[0] as string, key: after[1] as string },
    );
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      entities: page,
      nextCursor: rows.length > limit && last !== undefined ? encode([last.kind, last.key]) : null,
    };
  });

  app.get<{ Params: { id: string } }>('/api/alerts/:id/audit', async (request, reply) => {
    const query = auditQuery.safeParse(request.query);
    if (!query.success) return sendInvalid(reply, query.error, 'query');
    const id = await findAlertId(db, request.params.id);
    if (id === null) return sendError(reply, 404, 'alert.not_found', `No alert ${request.params.id}.`);
    const { limit, cursor: after } = query.data;
    const rows = await auditPage(db, id, limit + 1, after?.[0]);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      audit: page.map((entry) => ({ ...entry, at: entry.at.toISOString() })),
      nextCursor: rows.length > limit && last !== undefined ? encode([last.id]) : null,
    };
  });
}
