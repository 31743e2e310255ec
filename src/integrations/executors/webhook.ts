import { createHmac } from 'node:crypto';
import { ACTION_KINDS, type ActionKind } from '../../domain/index.js';
import type { ActionExecutor, ExecutionRequest } from './port.js';
import { callJson } from './request.js';

export interface WebhookOptions {
  readonly url: string;
  /** HMAC-SHA256 key: `X-Vigil-Signature: v1=<hex of HMAC("<timestamp>.<body>")>`, with `X-Vigil-Timestamp`. */
  readonly secret: string;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly now?: () => number;
}

/** The signature a receiver checks: the same scheme as Slack's, so receivers can refuse replays. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Any system that accepts a signed POST (a SOAR, a script, a Logic App): every kind of action,
 * one JSON body, and the action's `Idempotency-Key` so the receiver can do each at most once.
 */
export function webhookExecutor(options: WebhookOptions): ActionExecutor {
  const now = options.now ?? Date.now;
  return {
    name: 'webhook',
    supports: (kind: ActionKind) => ACTION_KINDS.includes(kind),
    async execute(request: ExecutionRequest, signal: AbortSignal) {
      const answer = await callJson({
        method: 'POST',
        url: options.url,
        headers: { 'Idempotency-Key': request.idempotencyKey, 'User-Agent': 'Vigil' },
        body: {
          actionId: request.actionId,
          kind: request.kind,
          target: request.target,
          reason: request.reason,
          evidence: request.evidence,
        },
        timeoutMs: options.timeoutMs,
        retries: options.retries,
        signal,
        sign: (body) => {
          const timestamp = String(Math.floor(now() / 1000));
          return {
            'X-Vigil-Timestamp': timestamp,
            'X-Vigil-Signature': webhookSignature(options.secret, timestamp, body),
          };
        },
      });
      return { executor: 'webhook', answer };
    },
  };
}
