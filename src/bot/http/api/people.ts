import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  disablePerson,
  grantRole,
  LINKABLE_KEY,
  linkIdentity,
  listPeople,
  unlinkIdentity,
} from '../../../app/commands/people.js';
import { createToken, listTokens, revokeToken, TOKEN_DAYS } from '../../../app/commands/tokens.js';
import { type Clock, ROLES, roleFrom } from '../../../domain/index.js';
import type { TokenView } from '../../../storage/api-token.repository.js';
import type { DbHandle } from '../../../storage/db.js';
import { getPerson, type RolePolicy } from '../../../storage/person.repository.js';
import { sendDomainError, sendError, sendInvalid } from '../errors.js';
import { apiPerson } from './identity.js';

const tokenBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    expiresInDays: z.number().int().min(1).max(TOKEN_DAYS.max).optional(),
  })
  .strict();
const roleBody = z.object({ role: z.enum(ROLES) }).strict();
const linkBody = z
  .object({
    key: z
      .string()
      .regex(
        LINKABLE_KEY,
        'must be slack:<team>:<user>, teams:<tenant>:<object ID> or oidc:<issuer>:<subject>',
      ),
  })
  .strict();

const tokenView = (token: TokenView) => ({
  id: token.id,
  name: token.name,
  roleCap: token.roleCap,
  expiresAt: token.expiresAt.toISOString(),
  revokedAt: token.revokedAt?.toISOString() ?? null,
  lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
  createdAt: token.createdAt.toISOString(),
});

/**
 * `/api/me`, `/api/tokens` (a person's own personal tokens) and `/api/people` (admins: roles,
 * links, offboarding). Every change is a command that checks the caller's permission.
 */
export async function peopleRoutes(
  app: FastifyInstance,
  deps: { handle: DbHandle; clock: Clock; roles: RolePolicy },
): Promise<void> {
  const { handle } = deps;

  app.get('/api/me', async (request) => {
    const person = apiPerson(request);
    const record = await getPerson(handle.db, person.personId);
    return {
      personId: person.personId,
      role: person.role,
      identity: person.actor,
      displayName: record?.displayName ?? null,
      identities: record?.identities.map((identity) => identity.key) ?? [],
    };
  });

  app.post('/api/tokens', async (request, reply) => {
    const body = tokenBody.safeParse(request.body ?? {});
    if (!body.success) return sendInvalid(reply, body.error);
    const created = await createToken(deps, apiPerson(request), body.data);
    if (!created.ok) return sendDomainError(reply, created.error);
    // The only time the token is shown: Vigil keeps its SHA-256 alone.
    return reply.code(201).send({ token: created.value.token, ...tokenView(created.value.view) });
  });

  app.get('/api/tokens', async (request) => ({
    tokens: (await listTokens(deps, apiPerson(request))).map(tokenView),
  }));

  app.delete<{ Params: { id: string } }>('/api/tokens/:id', async (request, reply) => {
    const revoked = await revokeToken(deps, apiPerson(request), { tokenId: request.params.id });
    if (!revoked.ok) return sendDomainError(reply, revoked.error);
    return reply.code(204).send();
  });

  app.get('/api/people', async (request, reply) => {
    const listed = await listPeople(deps, apiPerson(request), { limit: 500 });
    if (!listed.ok) return sendDomainError(reply, listed.error);
    return {
      people: listed.value.map((person) => ({
        ...person,
        // The role the person acts with now, by the one role rule (VIGIL_ADMINS first).
        effectiveRole: roleFrom({
          listedAdmin: person.identities.some(
            (identity) => identity.revokedAt === null && deps.roles.admins.includes(identity.key),
          ),
          granted: person.role,
          claimed: person.claimedRole,
          defaultRole: deps.roles.defaultRole,
        }),
        disabledAt: person.disabledAt?.toISOString() ?? null,
        identities: person.identities.map((identity) => ({
          ...identity,
          revokedAt: identity.revokedAt?.toISOString() ?? null,
        })),
      })),
    };
  });

  app.get<{ Params: { id: string } }>('/api/people/:id', async (request, reply) => {
    const person = await getPerson(handle.db, request.params.id);
    if (person === null) return sendError(reply, 404, 'person.not_found', `No person ${request.params.id}.`);
    return {
      ...person,
      disabledAt: person.disabledAt?.toISOString() ?? null,
      identities: person.identities.map((identity) => ({
        key: identity.key,
        revokedAt: identity.revokedAt?.toISOString() ?? null,
      })),
    };
  });

  app.post<{ Params: { id: string } }>('/api/people/:id/role', async (request, reply) => {
    const body = roleBody.safeParse(request.body ?? {});
    if (!body.success) return sendInvalid(reply, body.error);
    const granted = await grantRole(deps, apiPerson(request), {
      personId: request.params.id,
      role: body.data.role,
    });
    if (!granted.ok) return sendDomainError(reply, granted.error);
    return { personId: request.params.id, role: body.data.role, previousRole: granted.value.previousRole };
  });

  app.post<{ Params: { id: string } }>('/api/people/:id/links', async (request, reply) => {
    const body = linkBody.safeParse(request.body ?? {});
    if (!body.success) return sendInvalid(reply, body.error);
    const linked = await linkIdentity(deps, apiPerson(request), {
      personId: request.params.id,
      key: body.data.key,
    });
    if (!linked.ok) return sendDomainError(reply, linked.error);
    return reply
      .code(201)
      .send({ personId: request.params.id, key: body.data.key, merged: linked.value.merged });
  });

  app.delete<{ Params: { id: string; key: string } }>(
    '/api/people/:id/links/:key',
    async (request, reply) => {
      const unlinked = await unlinkIdentity(deps, apiPerson(request), {
        personId: request.params.id,
        key: request.params.key,
      });
      if (!unlinked.ok) return sendDomainError(reply, unlinked.error);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { id: string } }>('/api/people/:id/disable', async (request, reply) => {
    const disabled = await disablePerson(deps, apiPerson(request), { personId: request.params.id });
    if (!disabled.ok) return sendDomainError(reply, disabled.error);
    return { personId: request.params.id, disabled: true };
  });
}
