import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from 'fastify';
import { sql } from 'kysely';
import { logConnectionErrors } from '../../connection-log.js';
import type { Clock } from '../../domain/index.js';
import type { Logger } from '../../logger.js';
import type { DbHandle } from '../../storage/db.js';
import { pullCounters } from '../../storage/graph-sync.repository.js';
import { IngestBatcher } from '../../storage/ingest-batcher.js';
import { outboxStats } from '../../storage/outbox-admin.repository.js';
import type { RolePolicy } from '../../storage/person.repository.js';
import { isPostgresUnreachable } from '../../storage/wait-for-postgres.js';
import { actionRoutes } from './api/actions.js';
import { alertPageRoutes } from './api/alert-pages.js';
import { alertRoutes } from './api/alerts.js';
import { cardPreviewRoutes } from './api/card-preview.js';
import { apiAuthentication, apiPermissions } from './api/identity.js';
import { incidentRoutes } from './api/incidents.js';
import { investigationRoutes } from './api/investigations.js';
import { oncallRoutes } from './api/oncall.js';
import { peopleRoutes } from './api/people.js';
import { policyRoutes } from './api/policies.js';
import { remediationRoutes } from './api/remediations.js';
import { chatRouteRoutes } from './api/routes.js';
import { bearerAuth } from './auth.js';
import { BODY_LIMIT, boundRequestBodies, DISCARD_LIMIT } from './body-limit.js';
import { consoleRoutes } from './console.js';
import { sendError } from './errors.js';
import { alertmanagerFormat } from './ingest/alertmanager.js';
import type { IngestFormat } from './ingest/format.js';
import { genericFormat } from './ingest/generic.js';
import { grafanaFormat } from './ingest/grafana.js';
import { graphFormat } from './ingest/graph.js';
import { pagerdutyFormat } from './ingest/pagerduty.js';
import { ingestRoutes } from './ingest/route.js';
import { type TicketWebhookSecrets, ticketIngestRoutes } from './ingest/tickets.js';
import { guardJsonDepth } from './json-depth.js';
import { createMetrics, type Metrics } from './metrics.js';
import { SenderRateLimiter } from './rate-limit.js';
import type { OidcClient } from './sign-in/oidc-client.js';
import { signInRoutes } from './sign-in/routes.js';

export const INGEST_FORMATS: readonly IngestFormat[] = [
  genericFormat,
  alertmanagerFormat,
  graphFormat,
  grafanaFormat,
  pagerdutyFormat,
] as IngestFormat[];

export interface ServerDeps {
  readonly handle: DbHandle;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly ingestToken: string;
  /** VIGIL_API_TOKEN: the API service identity; personal tokens work without it. */
  readonly apiToken: string | undefined;
  /** VIGIL_ADMINS and VIGIL_DEFAULT_ROLE, for the roles of personal tokens. */
  readonly roles: RolePolicy;
  readonly ingestRateLimit: number;
  /** Ingest transactions kept in flight at once (see `ingestInFlight`). @defaultValue 1 */
  readonly ingestInFlight?: number;
  /** Bearer token `/metrics` requires; undefined leaves it open. */
  readonly metricsToken: string | undefined;
  /** Each ticketing connector's inbound webhook secret. */
  readonly ticketWebhookSecrets: TicketWebhookSecrets;
  /** Is Redis reachable? For /readyz. */
  readonly redisReady: () => Promise<boolean>;
  /** VIGIL_PUBLIC_URL, or the listener's address once it listens: sign-in redirects and CSRF origin. */
  readonly publicUrl: () => string;
  /** Console sign-in with OpenID Connect; null without VIGIL_OIDC_ISSUER. */
  readonly oidc: OidcClient | null;
  /** VIGIL_SESSION_HOURS. */
  readonly sessionHours: number;
  /** More routes (Slack, Teams, the console), each in its own encapsulated scope. */
  readonly plugins?: readonly ((app: FastifyInstance) => Promise<void>)[];
}

export interface Server {
  readonly app: FastifyInstance;
  readonly metrics: Metrics;
}

/** The one HTTP listener: ingest, API, health and metrics, and whatever chat adapters plug in. */
export async function buildServer(deps: ServerDeps): Promise<Server> {
  const { handle, logger, clock } = deps;
  const metrics = createMetrics(
    () => outboxStats(handle.db),
    () => pullCounters(handle.db),
  );
  const app: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Per-request lines would dominate the log at ingest rates; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // Bodies over BODY_LIMIT are refused by boundRequestBodies, after being drained up to this.
    bodyLimit: DISCARD_LIMIT,
    // Ingest senders retry on their own; keep idle sockets open for them.
    keepAliveTimeout: 65_000,
  });

  boundRequestBodies(app);
  guardJsonDepth(app);
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  const logUnavailable = logConnectionErrors(logger, 'postgres (HTTP request)');
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500 && isPostgresUnreachable(error)) {
      // An outage, not a bug: one log line per outage, and an answer senders know to retry.
      logUnavailable(error);
      reply.header('Retry-After', '5');
      return sendError(
        reply,
        503,
        'service.unavailable',
        'Vigil cannot reach its database, or has no free connection to it; retry shortly.',
      );
    }
    if (status >= 500) {
      request.log.error({ err: error, url: request.url }, 'request failed');
      return sendError(reply, 500, 'internal', 'Vigil could not handle this request; it has been logged.');
    }
    const code =
      error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'request.too_large'
        : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'request.unsupported_media_type'
          : error.code?.startsWith('FST_') || error.code === undefined
            ? 'request.invalid'
            : error.code;
    const message =
      code === 'request.too_large' ? `The request body is over ${BODY_LIMIT} bytes (1 MiB).` : error.message;
    return sendError(reply, status, code, message);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, 'route.not_found', `No route ${request.method} ${request.url.split('?')[0]}.`),
  );

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const [postgres, redis] = await Promise.all([
      withTimeout(
        sql`SELECT 1`.execute(handle.db).then(() => true),
        2_000,
      ),
      withTimeout(deps.redisReady(), 2_000),
    ]);
    return reply
      .code(postgres && redis ? 200 : 503)
      .send({ status: postgres && redis ? 'ready' : 'not_ready', postgres, redis });
  });
  // Open unless VIGIL_METRICS_TOKEN is set: a scraper then sends it as a bearer token.
  const metricsAuth = deps.metricsToken === undefined ? [] : [bearerAuth(deps.metricsToken, 'vigil-metrics')];
  app.get('/metrics', { onRequest: metricsAuth }, async (_request, reply) => {
    reply.header('Content-Type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  const batcher = new IngestBatcher(handle, clock, { maxInFlight: deps.ingestInFlight ?? 1 });
  const limiter = new SenderRateLimiter(deps.ingestRateLimit);
  await app.register(async (scope) =>
    ingestRoutes(scope, {
      token: deps.ingestToken,
      formats: INGEST_FORMATS,
      handle,
      batcher,
      limiter,
      clock,
      metrics,
    }),
  );
  await app.register(async (scope) =>
    ticketIngestRoutes(scope, { secrets: deps.ticketWebhookSecrets, handle, clock }),
  );

  await app.register(async (scope) => {
    apiAuthentication(scope, {
      handle,
      serviceToken: deps.apiToken,
      roles: deps.roles,
      publicUrl: deps.publicUrl,
    });
    apiPermissions(scope, { handle, clock });
    await alertRoutes(scope, { handle, clock });
    await incidentRoutes(scope, { handle, clock });
    await alertPageRoutes(scope, { handle });
    await remediationRoutes(scope, { handle, clock });
    await cardPreviewRoutes(scope, { handle });
    await chatRouteRoutes(scope, { handle, clock });
    await policyRoutes(scope, { handle, clock });
    await oncallRoutes(scope, { handle, clock });
    await investigationRoutes(scope, { handle, clock });
    await actionRoutes(scope, { handle, clock });
    await peopleRoutes(scope, { handle, clock, roles: deps.roles });
  });

  // The web console: static files, outside the API scope (they hold no data; the page signs in).
  await app.register(async (scope) => consoleRoutes(scope));
  await app.register(async (scope) =>
    signInRoutes(scope, {
      handle,
      clock,
      roles: deps.roles,
      oidc: deps.oidc,
      publicUrl: deps.publicUrl,
      sessionHours: deps.sessionHours,
    }),
  );
  for (const plugin of deps.plugins ?? []) await app.register(plugin);
  return { app, metrics };
}

async function withTimeout(check: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([check.catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
