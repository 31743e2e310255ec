import { type BearerSource, RetriesExhaustedError, sendWithRetries } from '../http-retry.js';
import { TokenRequestError } from '../microsoft/entra-token.js';
import { PermanentExecutionError } from './port.js';

export interface CallOptions {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The `Authorization: Bearer` token of each attempt; a 401 fetches a fresh one once. */
  readonly bearer?: BearerSource;
  readonly body?: unknown;
  /** Per attempt. */
  readonly timeoutMs: number;
  /** Further attempts on timeouts, network errors, 429 and 5xx, with exponential backoff and jitter. */
  readonly retries: number;
  readonly signal: AbortSignal;
  /** Gives the raw body each attempt (a signature may depend on the time). */
  readonly sign?: (body: string) => Readonly<Record<string, string>>;
}

/** One HTTP call to a remote executor, JSON in and out; see {@link CallOptions}. */
export async function callJson(options: CallOptions): Promise<unknown> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const describe = `${options.method} ${new URL(options.url).pathname}`;
  let answer: Awaited<ReturnType<typeof sendWithRetries>>;
  try {
    answer = await sendWithRetries(
      describe,
      (signal, authorization) =>
        fetch(options.url, {
          method: options.method,
          headers: {
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...options.headers,
            ...(authorization === null ? {} : { authorization }),
            ...(body === undefined ? {} : (options.sign?.(body) ?? {})),
          },
          ...(body === undefined ? {} : { body }),
          signal,
        }),
      {
        retries: options.retries,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        bearer: options.bearer,
      },
    );
  } catch (error) {
    // Wrong app credentials cannot be fixed by retrying; a token endpoint that is down can.
    if (error instanceof TokenRequestError) throw new PermanentExecutionError(error.message);
    if (error instanceof RetriesExhaustedError)
      throw new Error(`executor call ${error.message.replace(`${describe} `, '')}`, { cause: error });
    throw error;
  }
  if (answer.status < 200 || answer.status >= 300) {
    throw new PermanentExecutionError(`${describe} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  }
  if (answer.text === '') return {};
  try {
    return JSON.parse(answer.text) as unknown;
  } catch {
    return { text: answer.text.slice(0, 500) };
  }
}
