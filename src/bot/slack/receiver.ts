import type { App, Receiver, ReceiverEvent } from '@slack/bolt';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from '../../logger.js';
import { sendError } from '../http/errors.js';
import { verifySlackSignature } from './signature.js';

/** Slack waits 3 s for an acknowledgement; answer before that even if a listener forgets to ack. */
const ACK_DEADLINE_MS = 2_500;

/**
 * Deliveries whose acknowledgement is an empty 200 whatever the listener decides: they are
 * answered as soon as the signature checks out, so the acknowledgement never waits behind Bolt's
 * middleware or other clicks' work on a busy event loop. View submissions and slash commands
 * answer with a body (validation errors, the command's reply) and still wait for their listener.
 */
const EMPTY_ACK_TYPES = new Set(['block_actions', 'event_callback', 'view_closed']);

export interface FastifyReceiverOptions {
  readonly signingSecret: string;
  readonly logger: Logger;
  /** Wall-clock milliseconds for the replay window (tests move it). */
  readonly nowMs?: () => number;
  readonly path?: string;
}

/** Why a request body could not be read; answered with 400 before Bolt sees anything. */
class SlackBodyError extends Error {
  readonly code = 'slack.invalid_body';
}

/**
 * Parses a verified body the way Slack sends it: JSON for the Events API; form-encoded for slash
 * commands (fields) and for interactivity (one `payload` field holding JSON).
 */
export function parseSlackBody(raw: string, contentType: string): Record<string, unknown> {
  if (contentType.startsWith('application/json')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        return parsed as Record<string, unknown>;
    } catch {}
    throw new SlackBodyError('The body is not a JSON object.');
  }
  // URLSearchParams decodes `+` as a space, as form encoding means; Slack percent-encodes a literal `+`.
  const form = new URLSearchParams(raw);
  const payload = form.get('payload');
  if (payload !== null) {
    try {
      const parsed: unknown = JSON.parse(payload);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        return parsed as Record<string, unknown>;
    } catch {}
    throw new SlackBodyError('The payload field is not a JSON object.');
  }
  const fields = Object.fromEntries(form);
  if (typeof fields.command !== 'string' && typeof fields.type !== 'string') {
    throw new SlackBodyError('The form has neither a payload nor a command.');
  }
  return fields;
}

/**
 * A Bolt receiver that lives inside Vigil's one fastify listener instead of opening its own
 * server: it reads the raw body, verifies Slack's signature over those exact bytes, answers
 * `url_verification`, and hands everything else to Bolt, replying as soon as a listener acks.
 * Listeners keep running after the reply, so slow work never holds Slack's 3-second window.
 */
export class FastifyReceiver implements Receiver {
  private app: App | undefined;
  private readonly nowMs: () => number;

  constructor(private readonly options: FastifyReceiverOptions) {
    this.nowMs = options.nowMs ?? Date.now;
  }

  init(app: App): void {
    this.app = app;
  }

  // The listener's lifecycle belongs to the HTTP server, not to Bolt.
  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  /** Registers `POST /slack/events` in an encapsulated scope (its body parsers stay there). */
  readonly routes = async (scope: FastifyInstance): Promise<void> => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      ['application/json', 'application/x-www-form-urlencoded'],
      { parseAs: 'buffer' },
      (_request, body, done) => done(null, body),
    );
    scope.post(this.options.path ?? '/slack/events', async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const header = (name: string): string | undefined => {
        const value = request.headers[name];
        return typeof value === 'string' ? value : undefined;
      };
      const check = verifySlackSignature({
        signingSecret: this.options.signingSecret,
        timestamp: header('x-slack-request-timestamp'),
        signature: header('x-slack-signature'),
        rawBody: raw,
        nowMs: this.nowMs(),
      });
      if (!check.ok) {
        this.options.logger.warn(
          { reason: check.reason },
          'refused a Slack request that failed verification',
        );
        return sendError(reply, 401, 'slack.unauthorized', 'The request is not signed by Slack.');
      }
      let body: Record<string, unknown>;
      try {
        body = parseSlackBody(raw.toString('utf8'), header('content-type') ?? '');
      } catch (error) {
        if (error instanceof SlackBodyError) return sendError(reply, 400, error.code, error.message);
        throw error;
      }
      if (body.type === 'url_verification') return { challenge: String(body.challenge ?? '') };
      if (body.ssl_check !== undefined) return reply.code(200).send();
      const retryNum = header('x-slack-retry-num');
      const retryReason = header('x-slack-retry-reason');
      if (EMPTY_ACK_TYPES.has(String(body.type))) {
        // Answer first; the listener starts on a later turn, so not even its synchronous start delays this ack.
        setImmediate(() => {
          this.dispatch(body, null, retryNum, retryReason).catch((error: unknown) =>
            this.options.logger.error({ err: error, type: body.type }, 'Slack listener failed'),
          );
        });
        return reply.code(200).send();
      }
      return this.dispatch(body, reply, retryNum, retryReason);
    });
  };

  /** Hands the delivery to Bolt; with a `reply`, answers it when a listener acks (or at the deadline). */
  private async dispatch(
    body: Record<string, unknown>,
    reply: FastifyReply | null,
    retryNum: string | undefined,
    retryReason: string | undefined,
  ): Promise<FastifyReply | null> {
    const app = this.app;
    if (app === undefined) {
      return reply === null ? null : sendError(reply, 503, 'slack.not_ready', 'Slack is starting.');
    }
    type Outcome = { acked: true; response: unknown } | { acked: false; error?: unknown };
    let settle: (outcome: Outcome) => void = () => {};
    const outcome = new Promise<Outcome>((resolve) => {
      settle = resolve;
    });
    let acked = false;
    const event: ReceiverEvent = {
      body,
      ack: async (response?: unknown) => {
        if (acked) return;
        acked = true;
        settle({ acked: true, response });
      },
      ...(retryNum !== undefined && /^\d+$/.test(retryNum) ? { retryNum: Number(retryNum) } : {}),
      ...(retryReason === undefined ? {} : { retryReason }),
    };
    app.processEvent(event).then(
      () => settle({ acked: false }),
      (error: unknown) => {
        this.options.logger.error({ err: error, type: body.type }, 'Slack listener failed');
        settle({ acked: false, error });
      },
    );
    if (reply === null) return null;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<Outcome>((resolve) => {
      timer = setTimeout(() => resolve({ acked: false }), ACK_DEADLINE_MS);
    });
    const result = await Promise.race([outcome, deadline]).finally(() => clearTimeout(timer));
    if (!result.acked) {
      if ('error' in result && result.error !== undefined) {
        return sendError(
          reply,
          500,
          'internal',
          'Vigil could not handle this Slack request; it has been logged.',
        );
      }
      // Nothing listened or nothing acked in time: a 200 stops Slack retrying a delivery we cannot use.
      return reply.code(200).send();
    }
    const response = result.response;
    if (response === undefined || response === '') return reply.code(200).send();
    if (typeof response === 'string') return reply.code(200).type('text/plain; charset=utf-8').send(response);
    return reply.code(200).send(response);
  }
}
