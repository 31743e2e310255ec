import { setTimeout as sleep } from 'node:timers/promises';
import { PermanentExecutionError } from './port.js';

export interface CallOptions {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** Per attempt. */
  readonly timeoutMs: number;
  /** Further attempts on timeouts, network errors, 429 and 5xx, with exponential backoff and jitter. */
  readonly retries: number;
  readonly signal: AbortSignal;
  /** Gives the raw body each attempt (a signature may depend on the time). */
  readonly sign?: (body: string) => Readonly<Record<string, string>>;
}

class RetryableCallError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
  }
}

/** One HTTP call to a remote executor, JSON in and out; see {@link CallOptions}. */
export async function callJson(options: CallOptions): Promise<unknown> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  let last: unknown;
  for (let attempt = 0; attempt <= options.retries; attempt += 1) {
    if (attempt > 0) {
      const base = 200 * 2 ** (attempt - 1);
      const wait =
        last instanceof RetryableCallError && last.retryAfterMs !== null ? last.retryAfterMs : base;
      await sleep(Math.min(wait, 10_000) * (0.8 + Math.random() * 0.4), undefined, {
        signal: options.signal,
      });
    }
    try {
      const response = await fetch(options.url, {
        method: options.method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
          ...(body === undefined ? {} : (options.sign?.(body) ?? {})),
        },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]),
      });
      const text = await response.text();
      if (response.status === 429 || response.status >= 500) {
        const retryAfter = Number(response.headers.get('retry-after'));
        throw new RetryableCallError(
          `${options.method} ${new URL(options.url).pathname} answered ${response.status}`,
          Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null,
        );
      }
      if (!response.ok) {
        throw new PermanentExecutionError(
          `${options.method} ${new URL(options.url).pathname} answered ${response.status}: ${text.slice(0, 200)}`,
        );
      }
      if (text === '') return {};
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return { text: text.slice(0, 500) };
      }
    } catch (error) {
      if (error instanceof PermanentExecutionError || options.signal.aborted) throw error;
      last = error;
    }
  }
  const reason =
    last instanceof Error
      ? last.name === 'TimeoutError'
        ? `timed out after ${options.timeoutMs} ms`
        : last.message
      : String(last);
  throw new Error(`executor call failed after ${options.retries + 1} attempt(s): ${reason}`);
}
