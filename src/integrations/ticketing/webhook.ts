import { createHmac } from 'node:crypto';
import { callJson, type TicketGateway } from './port.js';

export interface WebhookOptions {
  readonly url: string;
  readonly secret: string;
  readonly timeoutMs?: number;
}

/**
 * The signature a receiver checks: HMAC-SHA256 over `<timestamp>.<body>` with the shared secret,
 * hex, as `sha256=<hex>`. The timestamp is signed too so a captured request cannot be replayed later.
 */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * A generic signed webhook for any other system: POSTs the remediation as JSON with
 * `Idempotency-Key` (the receiver must open one ticket per key, answering a repeat with the same
 * ticket), `X-Vigil-Timestamp` and `X-Vigil-Signature`. The answer may name the ticket
 * (`{ "id": "...", "url": "..." }`); status comes back through `POST /ingest/tickets/webhook`.
 */
export function webhookTickets(options: WebhookOptions): TicketGateway {
  return {
    connector: 'webhook',
    polls: false,
    async createTicket(request, idempotencyKey) {
      const body = JSON.stringify({
        event: 'remediation.ticket_requested',
        idempotencyKey,
        remediation: {
          id: request.remediationId,
          number: request.number,
          title: request.title,
          recommendation: request.recommendation,
          actionRef: request.actionRef,
          devices: request.devices,
          devicesLeft: request.devicesLeft,
          dueAt: request.dueAt.toISOString(),
          priority: request.priority,
          notes: request.notes,
          requester: request.requester,
          alertId: request.alertId,
          url: request.vigilUrl,
        },
      });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const answer = await callJson(
        'The ticket webhook',
        options.url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': idempotencyKey,
            'x-vigil-timestamp': timestamp,
            'x-vigil-signature': signWebhook(options.secret, timestamp, body),
          },
          body,
        },
        options.timeoutMs,
      );
      const named = answer.body as { id?: unknown; url?: unknown } | null;
      return {
        externalId: typeof named?.id === 'string' && named.id !== '' ? named.id : idempotencyKey,
        url: typeof named?.url === 'string' ? named.url : '',
      };
    },
    // The receiver reports status through the inbound webhook; there is nothing to read here.
    readStatus: async () => 'open',
  };
}
