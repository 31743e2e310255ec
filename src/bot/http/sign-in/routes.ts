import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  csrfTokenOf,
  identifySession,
  newSecret,
  secretDigest,
  signIn,
  signOut,
} from '../../../app/sessions.js';
import type { Clock } from '../../../domain/index.js';
import type { DbHandle } from '../../../storage/db.js';
import type { RolePolicy } from '../../../storage/person.repository.js';
import { insertLogin, takeLogin } from '../../../storage/session.repository.js';
import { CONSOLE_CSP } from '../console.js';
import { sendError } from '../errors.js';
import { cookie, LOGIN_COOKIE, readCookie, SESSION_COOKIE } from './cookies.js';
import { sessionCsrfProblem } from './csrf.js';
import type { OidcClient } from './oidc-client.js';

export interface SignInDeps {
  readonly handle: DbHandle;
  readonly clock: Clock;
  readonly roles: RolePolicy;
  /** Null when no VIGIL_OIDC_ISSUER is configured: the console signs in with tokens only. */
  readonly oidc: OidcClient | null;
  /** VIGIL_PUBLIC_URL (or the listener's address): redirects are built from it, never from Host. */
  readonly publicUrl: () => string;
  readonly sessionHours: number;
}

/** How long a sign-in may stay at the provider (typing a password, a second factor). */
const LOGIN_MINUTES = 10;

/** A console route to come back to after sign-in: `#/alerts/42`, nothing that leaves the console. */
const RETURN_ROUTE = /^#\/[\w\-./%?=&]{0,300}$/;
/** `login_hint` as people and providers write it: an account name or e-mail address. */
const LOGIN_HINT = /^[\w.@+-]{1,254}$/;

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A short page for a sign-in that cannot go on (the browser is mid-redirect: JSON would help nobody). */
function problemPage(reply: FastifyReply, publicUrl: string, status: number, message: string) {
  return reply
    .code(status)
    .header('Content-Security-Policy', CONSOLE_CSP)
    .header('Cache-Control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><meta charset="utf-8"><title>Vigil sign-in</title><p>${escapeHtml(message)}</p>` +
        `<p><a href="${escapeHtml(`${publicUrl}/console/`)}">Back to the Vigil console</a></p>`,
    );
}

/**
 * Console sign-in with OpenID Connect (`/auth/login`, `/auth/callback`, `/auth/logout`) and
 * `/auth/session`, which tells the console whether OIDC is on, who is signed in and the CSRF token
 * its state-changing calls must carry.
 */
export async function signInRoutes(app: FastifyInstance, deps: SignInDeps): Promise<void> {
  const secure = () => deps.publicUrl().startsWith('https:');
  const redirectUri = () => `${deps.publicUrl()}/auth/callback`;

  app.get('/auth/session', async (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    const secret = readCookie(request.headers.cookie, SESSION_COOKIE);
    const person = secret === undefined ? null : await identifySession(deps.handle.db, secret, deps.roles);
    return {
      oidc: deps.oidc !== null,
      person:
        person === null
          ? null
          : {
              id: person.personId,
              name: person.actor.name ?? null,
              role: person.role,
            },
      ...(person === null || secret === undefined ? {} : { csrfToken: csrfTokenOf(secret) }),
    };
  });

  app.get<{ Querystring: { return?: string; login_hint?: string } }>(
    '/auth/login',
    async (request, reply) => {
      if (deps.oidc === null)
        return sendError(
          reply,
          404,
          'auth.oidc_off',
          'OpenID Connect sign-in is not configured (VIGIL_OIDC_ISSUER).',
        );
      const asked = typeof request.query.return === 'string' ? request.query.return : '';
      const returnTo = RETURN_ROUTE.test(asked) ? asked : '#/alerts';
      // Only a plausible account name is passed on: the provider echoes it into its sign-in page.
      const hint = request.query.login_hint;
      const loginHint = typeof hint === 'string' && LOGIN_HINT.test(hint) ? hint : undefined;
      let started: Awaited<ReturnType<OidcClient['begin']>>;
      try {
        started = await deps.oidc.begin(redirectUri(), loginHint);
      } catch (error) {
        request.log.warn({ err: error }, 'OpenID Connect provider unreachable');
        return problemPage(
          reply,
          deps.publicUrl(),
          503,
          'Vigil cannot reach the identity provider just now; try again shortly.',
        );
      }
      const loginId = newSecret();
      await insertLogin(deps.handle.db, {
        idHash: secretDigest(loginId),
        ...started.checks,
        returnTo,
        expiresAt: new Date(deps.clock.now().getTime() + LOGIN_MINUTES * 60_000),
      });
      reply.header(
        'Set-Cookie',
        cookie(LOGIN_COOKIE, loginId, { path: '/auth', maxAgeSeconds: LOGIN_MINUTES * 60, secure: secure() }),
      );
      reply.header('Cache-Control', 'no-store');
      return reply.redirect(started.url.href);
    },
  );

  app.get<{ Querystring: Record<string, string | undefined> }>('/auth/callback', async (request, reply) => {
    const publicUrl = deps.publicUrl();
    if (deps.oidc === null)
      return problemPage(reply, publicUrl, 404, 'OpenID Connect sign-in is not configured.');
    const loginId = readCookie(request.headers.cookie, LOGIN_COOKIE);
    const login = loginId === undefined ? null : await takeLogin(deps.handle.db, secretDigest(loginId));
    reply.header(
      'Set-Cookie',
      cookie(LOGIN_COOKIE, '', { path: '/auth', maxAgeSeconds: 0, secure: secure() }),
    );
    if (login === null)
      return problemPage(
        reply,
        publicUrl,
        400,
        'This sign-in expired or was already used. Start again from the console.',
      );
    if (typeof request.query.error === 'string')
      return problemPage(
        reply,
        publicUrl,
        403,
        `The identity provider did not sign you in: ${request.query.error_description ?? request.query.error}`,
      );
    let verified: Awaited<ReturnType<OidcClient['finish']>>;
    try {
      // The URL the provider redirected to, as the browser saw it (behind a proxy too).
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      verified = await deps.oidc.finish(new URL(`${redirectUri()}${query}`), login);
    } catch (error) {
      request.log.warn({ err: error }, 'OpenID Connect sign-in failed');
      return problemPage(
        reply,
        publicUrl,
        400,
        'The identity provider’s answer could not be verified. Start again from the console.',
      );
    }
    const signedIn = await signIn(deps, verified);
    if (!signedIn.ok) return problemPage(reply, publicUrl, 403, signedIn.error.message);
    reply.header('Set-Cookie', [
      cookie(LOGIN_COOKIE, '', { path: '/auth', maxAgeSeconds: 0, secure: secure() }),
      cookie(SESSION_COOKIE, signedIn.value.secret, {
        path: '/',
        maxAgeSeconds: deps.sessionHours * 3600,
        secure: secure(),
      }),
    ]);
    reply.header('Cache-Control', 'no-store');
    return reply.redirect(`${publicUrl}/console/${login.returnTo}`);
  });

  app.post('/auth/logout', async (request: FastifyRequest, reply) => {
    const secret = readCookie(request.headers.cookie, SESSION_COOKIE);
    reply.header('Set-Cookie', cookie(SESSION_COOKIE, '', { path: '/', maxAgeSeconds: 0, secure: secure() }));
    if (secret === undefined) return reply.code(204).send();
    const refused = sessionCsrfProblem(request, secret, deps.publicUrl());
    if (refused !== null) return sendError(reply, 403, 'auth.csrf', refused);
    const person = await identifySession(deps.handle.db, secret, deps.roles);
    if (person !== null) await signOut(deps, person, secret);
    return reply.code(204).send();
  });
}
