import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './errors.js';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * A hook that admits only requests carrying `Authorization: Bearer <token>`. Compared in constant
 * time over digests, so neither the token's content nor its length leaks through timing.
 */
export function bearerAuth(token: string, realm: string) {
  const expected = digest(token);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (match?.[1] === undefined || !timingSafeEqual(digest(match[1].trim()), expected)) {
      reply.header('WWW-Authenticate', `Bearer realm="${realm}"`);
      await sendError(
        reply,
        401,
        'auth.unauthorized',
        match === null ? `Missing bearer token for ${realm}.` : `Wrong bearer token for ${realm}.`,
      );
    }
  };
}
