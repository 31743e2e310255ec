import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { csrfTokenOf } from '../../../app/sessions.js';

/** The header the console sends its session's CSRF token in (from `GET /auth/session`). */
export const CSRF_HEADER = 'x-vigil-csrf';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Why a state-changing call made with the session cookie is refused, or null. Two checks: the
 * `X-Vigil-CSRF` header must carry the session's token (another site can neither read it nor set
 * a custom header without a CORS preflight Vigil never grants), and an `Origin` the browser sends
 * must be Vigil's own (VIGIL_PUBLIC_URL). Reads pass: they change nothing.
 */
export function sessionCsrfProblem(
  request: FastifyRequest,
  secret: string,
  publicUrl: string,
): string | null {
  if (SAFE_METHODS.has(request.method)) return null;
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== new URL(publicUrl).origin)
    return `Calls from ${origin} cannot use your console session.`;
  const sent = request.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !timingSafeEqual(digest(sent), digest(csrfTokenOf(secret))))
    return 'This call needs the X-Vigil-CSRF header of your console session (GET /auth/session).';
  return null;
}
