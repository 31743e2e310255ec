import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock, IngestEvent } from '../../../domain/index.js';
import { applySourceStatus } from '../../../storage/alert-ingest.repository.js';
import type { DbHandle } from '../../../storage/db.js';
import type { IngestBatcher } from '../../../storage/ingest-batcher.js';
import { bearerAuth } from '../auth.js';
import { DISCARD_LIMIT } from '../body-limit.js';
import { sendError, sendInvalid } from '../errors.js';
import { jsonNestingExceeds, tooDeep } from '../json-depth.js';
import type { Metrics } from '../metrics.js';
import type { SenderRateLimiter } from '../rate-limit.js';
import type { IngestFormat } from './format.js';

export interface IngestDeps {
  readonly token: string;
  readonly formats: readonly IngestFormat[];
  readonly handle: DbHandle;
  readonly batcher: IngestBatcher;
  readonly limiter: SenderRateLimiter;
  readonly clock: Clock;
  readonly metrics: Metrics;
}

/** What the 202 answer says of each event: the alert it touched and how. */
export type IngestItem =
  | {
      readonly id: string;
      readonly number: string;
      readonly duplicate: boolean;
      readonly occurrenceCount: number;
    }
  | {
      readonly id: string | null;
      readonly action: 'start_progress' | 'resolve';
      readonly outcome: 'changed' | 'unchanged' | 'no_open_alert';
    };

/**
 * `POST /ingest/<format>`: token and flood control first (before the body is read), then size,
 * JSON, schema, flood control for the rest of a batch, and storage. A 202 is sent only once every
 * event is committed to Postgres.
 */
export async function ingestRoutes(app: FastifyInstance, deps: IngestDeps): Promise<void> {
  app.addHook('onRequest', bearerAuth(deps.token, 'vigil-ingest'));
  // Every request costs one alert's worth before its body is read, so a flood is refused for the
  // price of a header; a batch pays for the rest once its size is known. The key is the client's
  // address under this scope's one token, never a field the sender writes.
  app.addHook('onRequest', async (request, reply) => {
    const wait = deps.limiter.take(senderOf(request), 1);
    if (wait > 0) return tooManyAlerts(deps, reply, formatOf(request), wait);
  });
  // Senders are not always careful with Content-Type: read any body as JSON text.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    // The 1 MiB bound is enforced while reading (see body-limit.ts), so a larger body is drained first.
    { parseAs: 'string', bodyLimit: DISCARD_LIMIT },
    (_request, body, done) => {
      if (typeof body !== 'string' || body.trim() === '') {
        done(
          Object.assign(new Error('The request body is empty; send the alert as JSON.'), {
            statusCode: 400,
            code: 'request.empty_body',
          }),
        );
        return;
      }
      if (jsonNestingExceeds(body)) {
        done(tooDeep());
        return;
      }
      try {
        done(null, JSON.parse(body));
      } catch (error) {
        done(
          Object.assign(new Error(`The request body is not valid JSON: ${(error as Error).message}`), {
            statusCode: 400,
            code: 'request.invalid_json',
          }),
        );
      }
    },
  );

  for (const format of deps.formats) {
    app.post(`/ingest/${format.name}`, async (request, reply) => {
      if (request.body === undefined)
        return sendError(
          reply,
          400,
          'request.empty_body',
          'The request body is empty; send the alert as JSON.',
        );
      const parsed = format.schema.safeParse(request.body);
      if (!parsed.success) {
        deps.metrics.ingestRejected.inc({ format: format.name, reason: 'invalid' });
        return sendInvalid(reply, parsed.error, `${format.name} payload`);
      }
      const events = format.toEvents(parsed.data, deps.clock.now());
      const wait = events.length > 1 ? deps.limiter.take(senderOf(request), events.length - 1) : 0;
      if (wait > 0) return tooManyAlerts(deps, reply, format.name, wait);
      const items = await storeEvents(deps, events);
      for (const item of items) {
        if ('duplicate' in item)
          deps.metrics.ingested.inc({ format: format.name, duplicate: String(item.duplicate) });
      }
      return reply.code(202).send({ accepted: items.length, alerts: items });
    });
  }
}

/** Who floods: the client's address (the token is the same for every sender of this scope). */
const senderOf = (request: FastifyRequest): string => request.ip;

const formatOf = (request: FastifyRequest): string =>
  (request.routeOptions.url ?? '').replace(/^\/ingest\//, '') || 'unmatched';

function tooManyAlerts(deps: IngestDeps, reply: FastifyReply, format: string, wait: number): FastifyReply {
  deps.metrics.ingestRejected.inc({ format, reason: 'rate_limited' });
  reply.header('Retry-After', String(wait));
  return sendError(
    reply,
    429,
    'ingest.rate_limited',
    `Too many alerts from this sender; retry in ${wait} s.`,
  );
}

/** Occurrences first (one batched write), then the source's own status changes, in order. */
async function storeEvents(deps: IngestDeps, events: readonly IngestEvent[]): Promise<IngestItem[]> {
  const items: IngestItem[] = new Array(events.length);
  const occurrences = events.flatMap((event, index) =>
    event.kind === 'occurrence' ? [{ event, index }] : [],
  );
  const outcomes = await deps.batcher.submit(occurrences.map(({ event }) => event.draft));
  occurrences.forEach(({ index }, position) => {
    const outcome = outcomes[position];
    if (outcome !== undefined) {
      items[index] = {
        id: outcome.alertId,
        number: outcome.number,
        duplicate: outcome.duplicate,
        occurrenceCount: outcome.occurrenceCount,
      };
    }
  });
  for (const [index, event] of events.entries()) {
    if (event.kind !== 'source_status') continue;
    const outcome = await applySourceStatus(deps.handle, event, deps.clock);
    items[index] = {
      id: outcome.kind === 'no_open_alert' ? null : outcome.alertId,
      action: event.action,
      outcome: outcome.kind,
    };
  }
  return items;
}
