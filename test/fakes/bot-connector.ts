import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call the bot made to the connector. */
export interface ConnectorCall {
  readonly method: 'POST' | 'PUT';
  readonly conversationId: string;
  /** PUT: the activity replaced; POST: the activity replied to (threaded reply), if any. */
  readonly activityId: string | null;
  readonly authorization: string | null;
  readonly body: Record<string, any>;
  /** The status the fake answered. */
  readonly status: number;
  /** The activity ID the fake answered a successful POST with. */
  readonly answeredId: string | null;
}

/** A conversation (or team) member as the connector describes one: a TeamsChannelAccount. */
export interface FakeTeamsMember {
  /** The member's Bot Framework ID (`29:...`). */
  readonly id: string;
  readonly name: string;
  readonly aadObjectId: string;
  readonly email?: string;
  readonly userPrincipalName?: string;
  readonly tenantId: string;
  /** `user`, or `guest` for an Entra B2B guest. */
  readonly userRole?: 'user' | 'guest';
}

interface Failure {
  readonly status: number;
  readonly retryAfter?: string;
  readonly conversationId?: string;
  /** Only calls of this method fail (POST a new activity, PUT an update). */
  readonly method?: 'POST' | 'PUT';
  /** The error code answered. @defaultValue Throttled for 429, BotNotInConversationRoster otherwise */
  readonly code?: string;
}

/**
 * A local Bot Framework connector: the `serviceUrl` of test activities points here. It records
 * POST /v3/conversations/:id/activities[/:replyTo] (answering a new activity ID) and
 * PUT /v3/conversations/:id/activities/:activityId, answers GET /v3/conversations/:id/members/:userId
 * (TeamsInfo.getMember: the member by Bot Framework ID or Entra object ID, else 404
 * MemberNotFoundInConversation) from `addMember`, and answers a queued failure (429 with
 * Retry-After, 403...) on demand.
 */
export class FakeBotConnector {
  readonly calls: ConnectorCall[] = [];
  #failures: Failure[] = [];
  readonly #members = new Map<string, FakeTeamsMember[]>();
  #server: Server | null = null;
  url = '';

  async start(): Promise<this> {
    this.#server = createServer((request, response) => {
      void this.#handle(request).then(
        ({ status, body, headers }) => {
          response.writeHead(status, { 'content-type': 'application/json', ...headers });
          response.end(body === undefined ? '' : JSON.stringify(body));
        },
        () => {
          response.writeHead(500);
          response.end();
        },
      );
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as AddressInfo;
    // Teams' serviceUrls end with a slash; keep the same shape.
    this.url = `http://127.0.0.1:${port}/amer/`;
    return this;
  }

  /** Makes `member` a member of the conversation or team `conversationId`. */
  addMember(conversationId: string, member: FakeTeamsMember): void {
    this.#members.set(conversationId, [...(this.#members.get(conversationId) ?? []), member]);
  }

  /** Member lookups made (TeamsInfo.getMember), apart from `calls`, which are the bot's activities. */
  readonly memberLookups: {
    readonly conversationId: string;
    readonly userId: string;
    readonly status: number;
  }[] = [];

  /** The next matching request(s) get this answer instead of success, once each. */
  fail(failure: Failure, times = 1): void {
    for (let i = 0; i < times; i++) this.#failures.push(failure);
  }

  /** Successful calls of one kind to one conversation. */
  posts(conversationId?: string): ConnectorCall[] {
    return this.calls.filter(
      (c) =>
        c.method === 'POST' &&
        c.status < 300 &&
        (conversationId === undefined || c.conversationId === conversationId),
    );
  }

  updates(conversationId?: string): ConnectorCall[] {
    return this.calls.filter(
      (c) =>
        c.method === 'PUT' &&
        c.status < 300 &&
        (conversationId === undefined || c.conversationId === conversationId),
    );
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.#server === null ? resolve() : this.#server.close(() => resolve()),
    );
  }

  async #handle(
    request: IncomingMessage,
  ): Promise<{ status: number; body?: unknown; headers?: Record<string, string> }> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const member = /^\/amer\/v3\/conversations\/([^/]+)\/members\/([^/]+)$/.exec(request.url ?? '');
    if (member !== null && request.method === 'GET') return this.#getMember(member);
    const match = /^\/amer\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(request.url ?? '');
    if (match === null || (request.method !== 'POST' && request.method !== 'PUT'))
      return { status: 404, body: { error: { code: 'NotFound' } } };
    const conversationId = decodeURIComponent(match[1] ?? '');
    const activityId = match[2] === undefined ? null : decodeURIComponent(match[2]);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, any>;
    const index = this.#failures.findIndex(
      (f) =>
        (f.conversationId === undefined || f.conversationId === conversationId) &&
        (f.method === undefined || f.method === request.method),
    );
    const failure = index < 0 ? undefined : this.#failures.splice(index, 1)[0];
    const status = failure?.status ?? (request.method === 'POST' ? 201 : 200);
    const authorization = request.headers.authorization ?? null;
    const answeredId = failure === undefined && request.method === 'POST' ? `1:${randomUUID()}` : null;
    this.calls.push({
      method: request.method,
      conversationId,
      activityId,
      authorization,
      body,
      status,
      answeredId,
    });
    if (failure !== undefined) {
      return {
        status: failure.status,
        body: {
          error: {
            code: failure.code ?? (failure.status === 429 ? 'Throttled' : 'BotNotInConversationRoster'),
            message: 'fake',
          },
        },
        ...(failure.retryAfter === undefined ? {} : { headers: { 'retry-after': failure.retryAfter } }),
      };
    }
    return { status, body: { id: answeredId ?? activityId } };
  }

  #getMember(match: RegExpExecArray): { status: number; body: unknown } {
    const conversationId = decodeURIComponent(match[1] ?? '');
    const userId = decodeURIComponent(match[2] ?? '');
    const found = this.#members
      .get(conversationId)
      ?.find((candidate) => candidate.id === userId || candidate.aadObjectId === userId);
    const status = found === undefined ? 404 : 200;
    this.memberLookups.push({ conversationId, userId, status });
    if (found === undefined)
      return {
        status,
        body: { error: { code: 'MemberNotFoundInConversation', message: 'The member could not be found.' } },
      };
    return { status, body: { userRole: 'user', ...found } };
  }
}
