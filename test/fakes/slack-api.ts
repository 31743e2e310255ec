import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One Web API call as the fake received it. */
export interface SlackCall {
  readonly method: string;
  readonly token: string | null;
  readonly args: Record<string, unknown>;
  readonly at: number;
}

/** A scripted failure; with `when`, only for calls whose arguments it accepts (one card among many). */
type Scripted = ({ readonly status: 429; readonly retryAfter: number } | { readonly error: string }) & {
  readonly when?: (args: Record<string, unknown>) => boolean;
};

/** A file of the external upload flow: reserved, then its bytes POSTed, then shared (completed). */
export interface FakeFile {
  readonly id: string;
  readonly filename: string;
  readonly length: number;
  bytes: Buffer | null;
  title: string | null;
  channel: string | null;
}

/** A message the fake holds, as chat.postMessage and chat.update left it. */
export interface FakeMessage {
  readonly channel: string;
  readonly ts: string;
  readonly threadTs: string | null;
  text: string;
  blocks: unknown[];
  /** Message metadata (`event_type`, `event_payload`) as posted; Slack returns it only when asked. */
  metadata: Record<string, unknown> | null;
}

/** A workspace member as `users.info` describes one (docs.slack.dev/reference/methods/users.info). */
export interface FakeSlackUser {
  readonly id: string;
  /** The user's home workspace; another than the fake's `teamId` is a Slack Connect user. */
  readonly teamId?: string;
  readonly name?: string;
  readonly email?: string;
  readonly isRestricted?: boolean;
  readonly isUltraRestricted?: boolean;
  readonly isStranger?: boolean;
  readonly isBot?: boolean;
}

/** How the fake refuses every Web API call during an outage: HTTP 500, or the connection reset. */
export type Outage = 'status_500' | 'reset';

/**
 * A local stand-in for the Slack Web API (node:http on 127.0.0.1), following Slack's documented
 * shapes: bodies form-encoded (nested values as JSON strings, as @slack/web-api sends them) or
 * JSON, the token as a Bearer header, HTTP 200 with `ok: false` for errors, 429 with Retry-After
 * (seconds) for rate limits, and `ts` always a string. Errors can be scripted per method.
 */
export class FakeSlackApi {
  readonly calls: SlackCall[] = [];
  readonly messages = new Map<string, FakeMessage>();
  /** Files of files.getUploadURLExternal, by file ID. */
  readonly files = new Map<string, FakeFile>();
  /** Members `users.info` knows, by user ID; any other user ID answers as a plain member without an e-mail. */
  readonly users = new Map<string, FakeSlackUser>();
  /** The workspace the bot token belongs to (`auth.test`); the signing helpers send T0TEAM. */
  teamId = 'T0TEAM';
  /** Scopes the bot token was granted: `users.info` returns `profile.email` only with users:read.email. */
  scopes = new Set(['users:read', 'users:read.email']);
  private readonly scripted = new Map<string, Scripted[]>();
  /** Every Web API answer waits this long (a slow Slack). */
  latencyMs = 0;
  /** While set, every Web API call is refused this way (and still recorded in `calls`). */
  outage: Outage | null = null;
  /**
   * Called once a chat.postMessage is stored, before it is answered; `drop` resets the connection
   * instead of answering (the message is posted, the caller never learns its ts).
   */
  afterPost: ((message: FakeMessage) => 'answer' | 'drop' | Promise<'answer' | 'drop'>) | null = null;
  private server: Server | null = null;
  private counter = 0;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      this.handle(request).then(
        ({ status, body, headers, drop }) => {
          if (drop === true) {
            request.socket.destroy();
            return;
          }
          response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
          response.end(JSON.stringify(body));
        },
        (error: unknown) => {
          response.writeHead(500);
          response.end(String(error));
        },
      );
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/api/`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** The next call of `method` fails this way (scripts queue up). */
  failNext(method: string, failure: Scripted): void {
    const queue = this.scripted.get(method) ?? [];
    queue.push(failure);
    this.scripted.set(method, queue);
  }

  callsOf(method: string): SlackCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Top-level messages (cards) in a channel, in posting order. */
  cardsIn(channel: string): FakeMessage[] {
    return [...this.messages.values()].filter(
      (message) => message.channel === channel && message.threadTs === null,
    );
  }

  repliesTo(channel: string, ts: string): FakeMessage[] {
    return [...this.messages.values()].filter(
      (message) => message.channel === channel && message.threadTs === ts,
    );
  }

  /** Arrival times of the cards (top-level chat.postMessage calls) sent to a channel, in order. */
  postTimesIn(channel: string): number[] {
    return this.callsOf('chat.postMessage')
      .filter((call) => call.args.channel === channel && call.args.thread_ts === undefined)
      .map((call) => call.at);
  }

  /** A ts as Slack makes them: epoch seconds now, and a unique, rising fraction. */
  private nextTs(): string {
    this.counter += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.counter).padStart(6, '0')}`;
  }

  private async handle(
    request: IncomingMessage,
  ): Promise<{ status: number; body: unknown; headers?: Record<string, string>; drop?: boolean }> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    // The upload URL files.getUploadURLExternal hands out: a POST of the file's bytes, no token.
    const upload = /^\/upload\/v1\/([A-Z0-9]+)$/.exec(request.url ?? '');
    if (upload?.[1] !== undefined)
      return this.receiveUpload(upload[1], request.method, Buffer.concat(chunks));
    const raw = Buffer.concat(chunks).toString('utf8');
    const method = (request.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
    const args = parseArgs(raw, request.headers['content-type'] ?? '');
    const auth =
      /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ??
      (typeof args.token === 'string' ? args.token : null);
    this.calls.push({ method, token: auth, args, at: Date.now() });
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    if (this.outage === 'reset') return { status: 0, body: null, drop: true };
    if (this.outage === 'status_500') return { status: 500, body: { ok: false, error: 'internal_error' } };
    if (auth === null || !auth.startsWith('xox'))
      return { status: 200, body: { ok: false, error: 'not_authed' } };
    const queue = this.scripted.get(method) ?? [];
    const index = queue.findIndex((entry) => entry.when === undefined || entry.when(args));
    const scripted = index === -1 ? undefined : queue.splice(index, 1)[0];
    if (scripted !== undefined) {
      if ('status' in scripted) {
        return {
          status: 429,
          body: { ok: false, error: 'ratelimited' },
          headers: { 'retry-after': String(scripted.retryAfter) },
        };
      }
      return { status: 200, body: { ok: false, error: scripted.error } };
    }
    const body = this.answer(method, args);
    if (method === 'chat.postMessage' && body.ok === true && this.afterPost !== null) {
      const message = this.messages.get(`${body.channel}/${body.ts}`);
      if (message !== undefined && (await this.afterPost(message)) === 'drop')
        return { status: 0, body: null, drop: true };
    }
    return { status: 200, body };
  }

  /**
   * conversations.history as Slack documents it: top-level messages of the channel, newest first,
   * after `oldest` (exclusive) and up to `latest`, `limit` per page (default 100, at most 999)
   * with a `next_cursor`; message metadata only with `include_all_metadata`.
   */
  private history(args: Record<string, unknown>): Record<string, unknown> {
    const channel = typeof args.channel === 'string' ? args.channel : '';
    if (channel === '') return { ok: false, error: 'channel_not_found' };
    const oldest = Number(args.oldest ?? 0);
    const latest = args.latest === undefined ? Number.POSITIVE_INFINITY : Number(args.latest);
    const limit = Math.min(999, Math.max(1, Number(args.limit ?? 100)));
    const offset = typeof args.cursor === 'string' && args.cursor !== '' ? Number(atobSafe(args.cursor)) : 0;
    const withMetadata = args.include_all_metadata === true || args.include_all_metadata === 'true';
    const all = this.cardsIn(channel)
      .filter((message) => Number(message.ts) > oldest && Number(message.ts) <= latest)
      .sort((a, b) => compareTs(b.ts, a.ts));
    const page = all.slice(offset, offset + limit);
    const more = offset + limit < all.length;
    return {
      ok: true,
      messages: page.map((message) => ({
        type: 'message',
        subtype: 'bot_message',
        bot_id: 'B0VIGIL',
        text: message.text,
        blocks: message.blocks,
        ts: message.ts,
        ...(withMetadata && message.metadata !== null ? { metadata: message.metadata } : {}),
      })),
      has_more: more,
      pin_count: 0,
      response_metadata: { next_cursor: more ? Buffer.from(String(offset + limit)).toString('base64') : '' },
    };
  }

  /**
   * users.info as Slack documents it: `user_not_found` for an unknown ID, else the user object with
   * `team_id`, `is_restricted`, `is_ultra_restricted`, `is_bot`, `deleted`, `is_stranger` only for a
   * user of a workspace the bot's shares no channel with, and `profile.email` only with the
   * users:read.email scope.
   */
  private userInfo(args: Record<string, unknown>): Record<string, unknown> {
    if (!this.scopes.has('users:read')) return { ok: false, error: 'missing_scope', needed: 'users:read' };
    const id = typeof args.user === 'string' ? args.user : '';
    if (!/^[UW][A-Z0-9]{2,20}$/.test(id)) return { ok: false, error: 'user_not_found' };
    const known = this.users.get(id) ?? { id, name: `user-${id.toLowerCase()}` };
    const name = known.name ?? `user-${id.toLowerCase()}`;
    return {
      ok: true,
      user: {
        id,
        team_id: known.teamId ?? this.teamId,
        name,
        deleted: false,
        real_name: name,
        tz: 'Europe/Lisbon',
        is_admin: false,
        is_owner: false,
        is_bot: known.isBot ?? false,
        is_app_user: false,
        is_restricted: known.isRestricted ?? false,
        is_ultra_restricted: known.isUltraRestricted ?? false,
        ...(known.isStranger === true ? { is_stranger: true } : {}),
        updated: 1_700_000_000,
        profile: {
          real_name: name,
          display_name: name,
          ...(known.email !== undefined && this.scopes.has('users:read.email') ? { email: known.email } : {}),
        },
      },
    };
  }

  private receiveUpload(
    id: string,
    method: string | undefined,
    bytes: Buffer,
  ): { status: number; body: unknown } {
    const file = this.files.get(id);
    this.calls.push({
      method: 'upload',
      token: null,
      args: { fileId: id, bytes: bytes.length },
      at: Date.now(),
    });
    if (method !== 'POST' || file === undefined) return { status: 404, body: 'not found' };
    file.bytes = bytes;
    return { status: 200, body: `OK - ${bytes.length}` };
  }

  private answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    const channel = typeof args.channel === 'string' ? args.channel : '';
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://fake.slack.com/',
          team: 'Fake',
          user: 'vigil',
          team_id: this.teamId,
          user_id: 'U0VIGIL',
          bot_id: 'B0VIGIL',
        };
      case 'chat.postMessage': {
        if (channel === '') return { ok: false, error: 'channel_not_found' };
        if (args.text === undefined && args.blocks === undefined) return { ok: false, error: 'no_text' };
        const ts = this.nextTs();
        const threadTs = typeof args.thread_ts === 'string' ? args.thread_ts : null;
        const message: FakeMessage = {
          channel,
          ts,
          threadTs,
          text: String(args.text ?? ''),
          blocks: Array.isArray(args.blocks) ? args.blocks : [],
          metadata: isRecord(args.metadata) ? args.metadata : null,
        };
        this.messages.set(`${channel}/${ts}`, message);
        return {
          ok: true,
          channel,
          ts,
          message: {
            type: 'message',
            subtype: 'bot_message',
            bot_id: 'B0VIGIL',
            text: message.text,
            blocks: message.blocks,
            ts,
          },
        };
      }
      case 'chat.update': {
        const ts = String(args.ts ?? '');
        const message = this.messages.get(`${channel}/${ts}`);
        if (message === undefined) return { ok: false, error: 'message_not_found' };
        message.text = String(args.text ?? message.text);
        if (Array.isArray(args.blocks)) message.blocks = args.blocks;
        if (isRecord(args.metadata)) message.metadata = args.metadata;
        return {
          ok: true,
          channel,
          ts,
          text: message.text,
          message: { text: message.text, blocks: message.blocks },
        };
      }
      case 'chat.postEphemeral':
        if (channel === '' || typeof args.user !== 'string') return { ok: false, error: 'invalid_arguments' };
        return { ok: true, message_ts: this.nextTs() };
      case 'views.open':
        if (typeof args.trigger_id !== 'string') return { ok: false, error: 'invalid_trigger_id' };
        return { ok: true, view: { id: `V${this.counter}`, ...(args.view as object) } };
      case 'views.publish':
        if (typeof args.user_id !== 'string') return { ok: false, error: 'invalid_arguments' };
        return { ok: true, view: { id: `V${this.counter}`, ...(args.view as object) } };
      case 'users.info':
        return this.userInfo(args);
      case 'conversations.history':
        return this.history(args);
      case 'users.conversations':
        return { ok: true, channels: [], response_metadata: { next_cursor: '' } };
      case 'files.getUploadURLExternal': {
        // docs.slack.dev/reference/methods/files.getUploadURLExternal: filename and length (bytes) required.
        const length = Number(args.length);
        if (
          typeof args.filename !== 'string' ||
          args.filename === '' ||
          !Number.isInteger(length) ||
          length < 1
        )
          return { ok: false, error: 'invalid_arguments' };
        this.counter += 1;
        const id = `F0FAKE${this.counter}`;
        this.files.set(id, { id, filename: args.filename, length, bytes: null, title: null, channel: null });
        return { ok: true, upload_url: `${this.url.replace(/\/api\/$/, '')}/upload/v1/${id}`, file_id: id };
      }
      case 'files.completeUploadExternal': {
        // files: a JSON array of {id, title?}; channel_id shares the files there.
        const files = args.files;
        if (!Array.isArray(files) || files.length === 0) return { ok: false, error: 'invalid_arguments' };
        const done: FakeFile[] = [];
        for (const entry of files as { id?: unknown; title?: unknown }[]) {
          const file = typeof entry.id === 'string' ? this.files.get(entry.id) : undefined;
          if (file === undefined || file.bytes === null) return { ok: false, error: 'file_not_found' };
          if (file.bytes.length !== file.length) return { ok: false, error: 'file_upload_size_mismatch' };
          done.push(file);
        }
        const target = typeof args.channel_id === 'string' ? args.channel_id : null;
        for (const [index, file] of done.entries()) {
          const title = (files as { title?: unknown }[])[index]?.title;
          file.title = typeof title === 'string' ? title : file.filename;
          file.channel = target;
        }
        return {
          ok: true,
          files: done.map((file) => ({ id: file.id, title: file.title, name: file.filename })),
        };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}

/** Form bodies carry nested values (blocks, view) as JSON strings; decode those back. */
function parseArgs(raw: string, contentType: string): Record<string, unknown> {
  if (contentType.startsWith('application/json'))
    return raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    args[key] = /^[[{]/.test(value) ? safeJson(value) : value;
  }
  return args;
}

function safeJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Orders two ts strings by time (seconds, then the fraction), as Slack does. */
function compareTs(a: string, b: string): number {
  const [aSeconds = 0, aFraction = 0] = a.split('.').map(Number);
  const [bSeconds = 0, bFraction = 0] = b.split('.').map(Number);
  return aSeconds === bSeconds ? aFraction - bFraction : aSeconds - bSeconds;
}

function atobSafe(cursor: string): string {
  return Buffer.from(cursor, 'base64').toString('utf8');
}
