import { z } from 'zod';
import { type BearerSource, sendWithRetries } from '../http-retry.js';
import { type ClientCertificate, clientAssertion, JWT_BEARER_ASSERTION } from './client-assertion.js';

/** Microsoft Graph's audience; one token for every Graph call of the app. */
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
/** Microsoft Defender for Endpoint's API (machines, indicators): a different audience, a different token. */
export const DEFENDER_SCOPE = 'https://api.securitycenter.microsoft.com/.default';

/** The app's credential: a client secret, or a certificate whose key signs a client assertion. */
export type EntraCredential =
  | { readonly clientSecret: string; readonly clientCertificate?: undefined }
  | { readonly clientCertificate: ClientCertificate; readonly clientSecret?: undefined };

export type EntraCredentials = EntraCredential & {
  /** Token endpoint base, `https://login.microsoftonline.com` unless a sovereign cloud or a test says otherwise. */
  readonly authorityUrl: string;
  readonly tenantId: string;
  readonly clientId: string;
};

export type EntraTokenOptions = EntraCredentials & {
  /** Per request to the token endpoint. @defaultValue 10000 */
  readonly timeoutMs?: number;
  /** Further attempts on 429, 5xx and network errors. @defaultValue 4 */
  readonly retries?: number;
  /** The clock cached tokens are judged and client assertions dated by (ms). @defaultValue Date.now */
  readonly now?: () => number;
};

/** The endpoint refused the request itself (wrong secret, unknown tenant or client, bad scope): retrying cannot help. */
export class TokenRequestError extends Error {
  readonly code = 'entra.token_refused';
}

/** An access token and when Vigil stops using it. */
interface CachedToken {
  readonly token: string;
  readonly renewAt: number;
}

const tokenAnswer = z.object({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().positive(),
});
const errorAnswer = z.looseObject({ error: z.string(), error_description: z.string().optional() });

/**
 * OAuth 2.0 client credentials against Microsoft Entra ID (the v2.0 token endpoint), one cached
 * token per scope. A token is used until shortly before it expires (a tenth of its lifetime, at
 * most five minutes, as MSAL does), then fetched again; callers asking while a fetch is under way
 * wait for that one fetch (single flight). The endpoint is retried on 429 and 5xx as its
 * Retry-After says. The client secret goes only into the form body of the token request: it is
 * never logged, and no error carries it (Entra's error descriptions do not echo it). With a
 * certificate, each request carries a fresh signed client assertion instead (see clientAssertion).
 */
export class EntraTokenClient {
  readonly #options: EntraTokenOptions;
  readonly #now: () => number;
  readonly #cache = new Map<string, CachedToken>();
  readonly #inFlight = new Map<string, Promise<CachedToken>>();

  constructor(options: EntraTokenOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The token endpoint of the tenant. */
  get endpoint(): string {
    const base = this.#options.authorityUrl.replace(/\/$/, '');
    return `${base}/${encodeURIComponent(this.#options.tenantId)}/oauth2/v2.0/token`;
  }

  /** Which credential the app signs in with, and for a certificate its thumbprint (public: Entra lists it). */
  get credential(): string {
    const certificate = this.#options.clientCertificate;
    return certificate === undefined
      ? 'client secret'
      : `client certificate, thumbprint ${certificate.thumbprint}, valid until ${certificate.notAfter.toISOString()}`;
  }

  /** A valid token for the scope: the cached one, or a fresh one. */
  async token(scope: string, signal?: AbortSignal): Promise<string> {
    const cached = this.#cache.get(scope);
    if (cached !== undefined && this.#now() < cached.renewAt) return cached.token;
    let pending = this.#inFlight.get(scope);
    if (pending === undefined) {
      pending = this.#fetch(scope).finally(() => this.#inFlight.delete(scope));
      this.#inFlight.set(scope, pending);
    }
    return (await abortable(pending, signal)).token;
  }

  /** Forgets the token if it is still the cached one (an API answered 401 to it). */
  refused(scope: string, token: string): void {
    if (this.#cache.get(scope)?.token === token) this.#cache.delete(scope);
  }

  /** The scope as a bearer source for API clients. */
  bearer(scope: string): BearerSource {
    return { get: (signal) => this.token(scope, signal), refused: (token) => this.refused(scope, token) };
  }

  async #fetch(scope: string): Promise<CachedToken> {
    const { clientId, clientSecret, clientCertificate } = this.#options;
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      scope,
      ...(clientCertificate === undefined
        ? { client_secret: clientSecret }
        : {
            client_assertion_type: JWT_BEARER_ASSERTION,
            client_assertion: clientAssertion(clientCertificate, clientId, this.endpoint, this.#now()),
          }),
    });
    const answer = await sendWithRetries(
      `token request for ${scope}`,
      (attemptSignal) =>
        fetch(this.endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: form,
          signal: attemptSignal,
        }),
      {
        retries: this.#options.retries ?? 4,
        timeoutMs: this.#options.timeoutMs ?? 10_000,
        // The fetch is shared by every caller waiting for it: one of them giving up must not abort it.
        signal: new AbortController().signal,
        maxWaitMs: 30_000,
      },
    );
    const body = parseJson(answer.text);
    if (answer.status !== 200) {
      const error = errorAnswer.safeParse(body);
      const reason = error.success
        ? `${error.data.error}: ${(error.data.error_description ?? '').split(/\r?\n/)[0]}`
        : `HTTP ${answer.status}`;
      throw new TokenRequestError(`Entra ID refused the token request for ${scope} (${reason})`);
    }
    const parsed = tokenAnswer.safeParse(body);
    if (!parsed.success) throw new TokenRequestError(`Entra ID answered an unreadable token for ${scope}`);
    const lifetimeMs = parsed.data.expires_in * 1000;
    const margin = Math.min(5 * 60_000, lifetimeMs / 10);
    const token = { token: parsed.data.access_token, renewAt: this.#now() + lifetimeMs - margin };
    this.#cache.set(scope, token);
    return token;
  }
}

/** Waits for `work`, or rejects when `signal` aborts first (the work itself goes on for others). */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/**
 * The claims of a JWT access token, read without checking its signature: Vigil only reads what
 * it was granted (`roles`, `aud`, `exp`) to explain permissions; the API checks the signature.
 */
export function readTokenClaims(token: string): Record<string, unknown> | null {
  const payload = token.split('.')[1];
  if (payload === undefined) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
