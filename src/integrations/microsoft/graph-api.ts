import { z } from 'zod';
import { type BearerSource, sendWithRetries } from '../http-retry.js';

/** Graph answered with an error other than 429/5xx (which are retried): 400, 403, 404... */
export class GraphApiError extends Error {
  readonly code = 'graph.request_failed';
  constructor(
    message: string,
    readonly status: number,
    /** Graph's own error code (`Forbidden`, `BadRequest`...). */
    readonly graphCode: string | null,
  ) {
    super(message);
  }
}

export interface GraphApiOptions {
  /** @defaultValue https://graph.microsoft.com/v1.0 */
  readonly baseUrl: string;
  readonly bearer: BearerSource;
  /** Per attempt. @defaultValue 30000 */
  readonly timeoutMs?: number;
  /** Further attempts on 429, 5xx and network errors. @defaultValue 5 */
  readonly retries?: number;
  /** The longest Retry-After honoured in place; a longer one fails the call (the caller comes back later). @defaultValue 60000 */
  readonly maxWaitMs?: number;
}

const graphErrorBody = z.object({
  error: z.looseObject({ code: z.string(), message: z.string().optional() }),
});

/** A Graph collection page. */
const collectionPage = z.looseObject({
  value: z.array(z.unknown()),
  '@odata.nextLink': z.string().optional(),
});
export type CollectionPage = z.infer<typeof collectionPage>;

/**
 * A small Microsoft Graph client: JSON calls with the app's bearer token (a fresh one once on a
 * 401), retried on 429 and 5xx as Retry-After says. Absolute URLs (nextLinks) are followed only
 * on the configured Graph host, so a forged nextLink cannot take the token elsewhere.
 */
export class GraphApi {
  readonly baseUrl: string;
  readonly #options: GraphApiOptions;

  constructor(options: GraphApiOptions) {
    this.#options = options;
    this.baseUrl = options.baseUrl.replace(/\/$/, '');
  }

  /** One page of a collection: `pathOrLink` is a path under the base URL, or a nextLink. */
  async page(pathOrLink: string, signal: AbortSignal): Promise<CollectionPage> {
    const body = await this.call('GET', pathOrLink, undefined, signal);
    const parsed = collectionPage.safeParse(body);
    if (!parsed.success) throw new GraphApiError('Graph answered a page without a value list', 200, null);
    return parsed.data;
  }

  async call(
    method: 'GET' | 'PATCH' | 'POST',
    pathOrLink: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<unknown> {
    const url = this.#url(pathOrLink);
    const describe = `${method} ${new URL(url).pathname}`;
    const answer = await sendWithRetries(
      describe,
      (attemptSignal, authorization) =>
        fetch(url, {
          method,
          headers: {
            accept: 'application/json',
            ...(authorization === null ? {} : { authorization }),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: attemptSignal,
        }),
      {
        retries: this.#options.retries ?? 5,
        timeoutMs: this.#options.timeoutMs ?? 30_000,
        maxWaitMs: this.#options.maxWaitMs ?? 60_000,
        signal,
        bearer: this.#options.bearer,
      },
    );
    const parsed = answer.text === '' ? null : safeJson(answer.text);
    if (answer.status >= 200 && answer.status < 300) return parsed;
    const error = graphErrorBody.safeParse(parsed);
    const code = error.success ? error.data.error.code : null;
    const reason = error.success ? `${code}: ${error.data.error.message ?? ''}` : answer.text.slice(0, 200);
    throw new GraphApiError(`${describe} answered ${answer.status} (${reason})`, answer.status, code);
  }

  #url(pathOrLink: string): string {
    if (!/^https?:\/\//i.test(pathOrLink)) return `${this.baseUrl}${pathOrLink}`;
    const link = new URL(pathOrLink);
    const base = new URL(this.baseUrl);
    if (link.origin !== base.origin)
      throw new GraphApiError(`refusing to follow a link off ${base.origin}: ${link.origin}`, 0, null);
    return link.toString();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
