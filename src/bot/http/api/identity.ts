import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { identifyService, identifyToken, looksLikePersonalToken } from '../../../app/identity.js';
import { identifySession } from '../../../app/sessions.js';
import {
  type ActingPerson,
  type Actor,
  authorize,
  type Clock,
  type Permission,
} from '../../../domain/index.js';
import { appendAudit } from '../../../storage/audit.repository.js';
import type { DbHandle } from '../../../storage/db.js';
import type { RolePolicy } from '../../../storage/person.repository.js';
import { sendError } from '../errors.js';
import { readCookie, SESSION_COOKIE } from '../sign-in/cookies.js';
import { sessionCsrfProblem } from '../sign-in/csrf.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling: set by the API's authentication hook, from the bearer token alone. */
    person: ActingPerson | null;
  }
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Authenticates every `/api` call by its bearer token, or else by the console's session cookie:
 * VIGIL_API_TOKEN is the API service (one person, an admin), a personal token is its person, a
 * session the person who signed in. No header changes who acts (`X-Vigil-User` is ignored). A
 * state-changing call made with the cookie must pass the CSRF checks (`sessionCsrfProblem`).
 */
export function apiAuthentication(
  scope: FastifyInstance,
  deps: {
    handle: DbHandle;
    serviceToken: string | undefined;
    roles: RolePolicy;
    publicUrl: () => string;
  },
): void {
  const service = deps.serviceToken === undefined ? null : digest(deps.serviceToken);
  scope.decorateRequest('person', null);
  scope.addHook('onRequest', async (request, reply) => {
    const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
    const token = match?.[1]?.trim();
    const unauthorized = (message: string) => {
      reply.header('WWW-Authenticate', 'Bearer realm="vigil-api"');
      return sendError(reply, 401, 'auth.unauthorized', message);
    };
    if (token === undefined) {
      const secret = readCookie(request.headers.cookie, SESSION_COOKIE);
      if (secret === undefined) return unauthorized('Missing bearer token for vigil-api.');
      const person = await identifySession(deps.handle.db, secret, deps.roles);
      if (person === null)
        return unauthorized('Your console session has expired or was ended; sign in again.');
      const refused = sessionCsrfProblem(request, secret, deps.publicUrl());
      if (refused !== null) return sendError(reply, 403, 'auth.csrf', refused);
      request.person = person;
      return;
    }
    if (looksLikePersonalToken(token)) {
      const person = await identifyToken(deps.handle.db, token, deps.roles);
      if (person === null) return unauthorized('This personal token is unknown, expired or revoked.');
      request.person = person;
      return;
    }
    if (service === null || !timingSafeEqual(digest(token), service))
      return unauthorized('Wrong bearer token for vigil-api.');
    const person = await identifyService(deps.handle.db);
    if (!person.ok) return sendError(reply, 403, person.error.code, person.error.message);
    request.person = person.value;
  });
}

/** The person calling (after `apiAuthentication`). */
export function apiPerson(request: FastifyRequest): ActingPerson {
  if (request.person === null) throw new Error('an /api route ran without its authentication hook');
  return request.person;
}

/** The identity calling, as audit rows name it. */
export const apiActor = (request: FastifyRequest): Actor => apiPerson(request).actor;

/** Routes whose command checks the permission itself (the command layer). */
const COMMAND_ROUTES = new Set([
  'POST /api/alerts/:id/status',
  'POST /api/alerts/:id/investigate',
  'POST /api/investigations/:id/terminate',
  'POST /api/actions/:id/approve',
  'POST /api/actions/:id/reject',
  'GET /api/me',
  'POST /api/tokens',
  'GET /api/tokens',
  'DELETE /api/tokens/:id',
  'GET /api/people',
  'POST /api/people/:id/role',
  'POST /api/people/:id/links',
  'DELETE /api/people/:id/links/:key',
  'POST /api/people/:id/disable',
  'POST /api/remediations',
  'POST /api/remediations/:id/complete',
  'POST /api/remediations/:id/exception',
  'POST /api/policies',
  'PUT /api/policies/:id',
  'DELETE /api/policies/:id',
  'POST /api/silences',
  'PUT /api/silences/:id',
  'DELETE /api/silences/:id',
  'POST /api/routes',
  'DELETE /api/routes/:id',
  'POST /api/investigation-rules',
  'DELETE /api/investigation-rules/:id',
  'POST /api/watchlist',
  'DELETE /api/watchlist/:id',
  'POST /api/schedules',
  'PUT /api/schedules/:name',
  'DELETE /api/schedules/:name',
  'POST /api/schedules/:name/overrides',
  'POST /api/escalation-policies',
  'PUT /api/escalation-policies/:name',
  'DELETE /api/escalation-policies/:name',
]);

/**
 * The permission an API route needs when no command checks it yet: reading needs a viewer, every
 * other change an admin (what every API caller was before personal tokens). Null: the route's
 * command decides.
 */
export function routePermission(method: string, url: string): Permission | null {
  const route = `${method} ${url}`;
  if (COMMAND_ROUTES.has(route)) return null;
  if (route === 'GET /api/people/:id') return 'admin.manage';
  // An export carries every device and note: approvers and up, as in Slack and Teams.
  if (route === 'GET /api/remediations.csv') return 'remediation.export';
  if (method === 'GET' || method === 'HEAD') return 'alert.view';
  return 'admin.manage';
}

/** Refuses (403, audited) a call the person's role does not allow, for routes not yet behind a command. */
export function apiPermissions(scope: FastifyInstance, deps: { handle: DbHandle; clock: Clock }): void {
  scope.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const needed = routePermission(request.method, request.routeOptions.url ?? request.url);
    if (needed === null) return;
    const person = apiPerson(request);
    const allowed = authorize(person.role, needed);
    if (allowed.ok) return;
    if (needed !== 'alert.view')
      await appendAudit(deps.handle.db, [
        {
          alertId: null,
          actor: person.actor,
          action: 'api.refused',
          details: {
            route: `${request.method} ${request.routeOptions.url}`,
            role: person.role,
            permission: needed,
          },
          at: deps.clock.now(),
        },
      ]);
    return sendError(reply, 403, allowed.error.code, allowed.error.message);
  });
}
