import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Where a bearer token comes from: a static one, or Entra ID's client credentials (see
 * microsoft/entra-token.ts). `refused` tells the source the API answered 401 to that token, so the
 * next `get` fetches a new one even if the cached one has not reached its expiry.
 */
export interface BearerSource {
  get(signal?: AbortSignal): Promise<string>;
  refused(token: string): void;
}

/** A fixed token (VIGIL_GRAPH_TOKEN, VIGIL_DEFENDER_TOKEN): nothing to refresh. */
export const staticBearer = (token: string): BearerSource => ({
  get: async () => token,
  refused: () => {},
});

export interface RetryPolicy {
  /** Further attempts after the first on timeouts, network errors, 429 and 5xx. */
  readonly retries: number;
  /** Per attempt. */
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** The longest wait between attempts, even when Retry-After asks for more. @defaultValue 10000 */
  readonly maxWaitMs?: number;
  /** First backoff step, doubled each attempt, with ±20 % jitter. @defaultValue 200 */
  readonly baseDelayMs?: number;
}

/** The last answer was 429 or 5xx (or no answer at all) and the attempts ran out. */
export class RetriesExhaustedError extends Error {
  readonly code = 'http.retries_exhausted';
  constructor(
    message: string,
    /** The last status, when there was an answer. */
    readonly status: number | null,
    /** What the last Retry-After asked for, if it did. */
    readonly retryAfterMs: number | null,
  ) {
    super(message);
  }
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); null if absent or unreadable. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | null {
  if (header === null || header.trim() === '') return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : null;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

const isRetryableStatus = (status: number): boolean => status === 429 || status >= 500;

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/**
 * Sends a request until it gets an answer that is not 429 or 5xx, waiting between attempts as
 * Retry-After says (capped) or with exponential backoff. With a bearer source, each attempt asks
 * it for the token, and one 401 per call makes it fetch a fresh token and try again at once: a
 * token revoked or expired early must not fail the work. Every other status is returned to the
 * caller to judge.
 */
export async function sendWithRetries(
  describe: string,
  send: (signal: AbortSignal, authorization: string | null) => Promise<Response>,
  policy: RetryPolicy & { readonly bearer?: BearerSource | undefined },
): Promise<Answer> {
  const maxWaitMs = policy.maxWaitMs ?? 10_000;
  const baseDelayMs = policy.baseDelayMs ?? 200;
  let last: { reason: string; status: number | null; retryAfterMs: number | null } | null = null;
  let refreshed = false;
  for (let attempt = 0; attempt <= policy.retries; attempt += 1) {
    if (attempt > 0) {
      const backoff = baseDelayMs * 2 ** (attempt - 1);
      const wait = Math.min(last?.retryAfterMs ?? backoff, maxWaitMs);
      await sleep(wait * (0.8 + Math.random() * 0.4), undefined, { signal: policy.signal });
    }
    try {
      for (;;) {
        const token = policy.bearer === undefined ? null : await policy.bearer.get(policy.signal);
        const response = await send(
          AbortSignal.any([policy.signal, AbortSignal.timeout(policy.timeoutMs)]),
          token === null ? null : `Bearer ${token}`,
        );
        const text = await response.text();
        if (response.status === 401 && token !== null && !refreshed) {
          refreshed = true;
          policy.bearer?.refused(token);
          continue;
        }
        if (!isRetryableStatus(response.status)) {
          return { status: response.status, headers: response.headers, text };
        }
        last = {
          reason: `${describe} answered ${response.status}`,
          status: response.status,
          retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
        };
        break;
      }
    } catch (error) {
      if (policy.signal.aborted) throw error;
      if (!(error instanceof Error) || !isTransportError(error)) throw error;
      last = {
        reason:
          error.name === 'TimeoutError'
            ? `timed out after ${policy.timeoutMs} ms`
            : `${describe}: ${error.message}`,
        status: null,
        retryAfterMs: null,
      };
    }
  }
  throw new RetriesExhaustedError(
    `${describe} failed after ${policy.retries + 1} attempt(s): ${last?.reason ?? 'no answer'}`,
    last?.status ?? null,
    last?.retryAfterMs ?? null,
  );
}

/** fetch's own failures (refused connection, reset, timeout), as opposed to a bug or a token error. */
const isTransportError = (error: Error): boolean =>
  error.name === 'TimeoutError' || error.name === 'AbortError' || error instanceof TypeError;
