import type { ActionKind } from '../../domain/index.js';
import type { BearerSource } from '../http-retry.js';
import { type ActionExecutor, type ExecutionRequest, PermanentExecutionError } from './port.js';
import { callJson } from './request.js';

export interface GraphOptions {
  /** @defaultValue https://graph.microsoft.com/v1.0 */
  readonly baseUrl: string;
  /** Graph tokens: the app's own (client credentials) or a static one; see microsoft/permissions.ts for the roles. */
  readonly bearer: BearerSource;
  readonly timeoutMs: number;
  readonly retries: number;
}

const KINDS: readonly ActionKind[] = ['disable_user', 'revoke_sessions', 'revoke_oauth_consent'];

/**
 * Microsoft Graph for identities: revoke sign-in sessions, disable an account, and delete an
 * app's delegated permission grants. Graph has no idempotency keys, but each of these calls is
 * idempotent by nature (revoking twice, disabling twice, a grant already gone); the key rides
 * as `client-request-id` for tracing.
 */
export function graphExecutor(options: GraphOptions): ActionExecutor {
  const base = options.baseUrl.replace(/\/$/, '');
  const call = (
    request: ExecutionRequest,
    signal: AbortSignal,
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
  ) =>
    callJson({
      method,
      url: `${base}${path}`,
      headers: { 'client-request-id': request.idempotencyKey },
      bearer: options.bearer,
      ...(body === undefined ? {} : { body }),
      timeoutMs: options.timeoutMs,
      retries: options.retries,
      signal,
    });
  return {
    name: 'graph',
    supports: (kind) => KINDS.includes(kind),
    async execute(request, signal) {
      const id = encodeURIComponent(request.target.key);
      switch (request.kind) {
        case 'revoke_sessions':
          return {
            executor: 'graph',
            answer: await call(request, signal, 'POST', `/users/${id}/revokeSignInSessions`),
          };
        case 'disable_user':
          return {
            executor: 'graph',
            answer: await call(request, signal, 'PATCH', `/users/${id}`, { accountEnabled: false }),
          };
        case 'revoke_oauth_consent': {
          const filter = encodeURIComponent(`clientId eq '${request.target.key.replaceAll("'", "''")}'`);
          const grants = (await call(
            request,
            signal,
            'GET',
            `/oauth2PermissionGrants?$filter=${filter}`,
          )) as {
            value?: { id?: string }[];
          };
          const ids = (grants.value ?? []).flatMap((grant) =>
            typeof grant.id === 'string' ? [grant.id] : [],
          );
          for (const grant of ids) {
            await call(request, signal, 'DELETE', `/oauth2PermissionGrants/${encodeURIComponent(grant)}`);
          }
          return { executor: 'graph', grantsDeleted: ids.length };
        }
        default:
          throw new PermanentExecutionError(`Graph does not do ${request.kind}`);
      }
    },
  };
}
