import net from 'node:net';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { buildServer } from './bot/http/server.js';
import type { OidcClient } from './bot/http/sign-in/oidc-client.js';
import { logChannel } from './bot/log-channel.js';
import { type Config, entraHomeTenant, publicUrl } from './config.js';
import {
  type ChatChannel,
  type Clock,
  type DirectMessenger,
  type RemediationNotifier,
  systemClock,
} from './domain/index.js';
import type { IdentityDirectory } from './jobs/identity-lookup.worker.js';
import type { OutboxRelay, OutboxRelayOptions } from './jobs/outbox-relay.js';
import type { DeliveryRetry } from './jobs/queues.js';
import { redisConnection } from './jobs/redis.js';
import type { Logger } from './logger.js';
import { type DbHandle, openDb } from './storage/db.js';
import { migrate } from './storage/migrate.js';
import { disableUnrunnablePatterns } from './storage/stored-patterns.repository.js';
import { waitForPostgres } from './storage/wait-for-postgres.js';
import { CONNECTION_MESSAGE, ingestInFlight, READY_MESSAGE } from './web-cluster.js';

export interface VigilRoles {
  /** The HTTP listener. */
  readonly web: boolean;
  /** The outbox relay and the job workers. */
  readonly worker: boolean;
}

export interface StartOptions {
  readonly config: Config;
  /** The Postgres URL to use (DATABASE_URL, or the embedded server's). */
  readonly databaseUrl: string;
  readonly logger: Logger;
  readonly roles: VigilRoles;
  readonly clock?: Clock;
  /** Timings of the outbox relay (tests shorten them). */
  readonly relayTimings?: Pick<OutboxRelayOptions, 'pollMs' | 'redriveAfterMs' | 'redriveEveryMs'>;
  /** Retry timings of chat and ticket deliveries (tests shorten them); the window defaults to VIGIL_DELIVERY_RETRY_HOURS. */
  readonly deliveryTimings?: Partial<DeliveryRetry>;
  /** Replaces the integrations the configuration would choose (tests). */
  readonly integrations?: readonly ChatIntegration[];
  /**
   * A web process of `vigil web`'s cluster: the primary listens on PORT and hands it connections
   * (see web-cluster.ts) instead of this process listening there.
   */
  readonly handedConnections?: boolean;
}

/**
 * A chat platform plugged into Vigil: the channel the notify worker renders cards through, and
 * the HTTP routes the platform calls (events, interactions, bot activities). Built from the
 * configuration in `chatIntegrations`; the only place adapters are chosen.
 */
export interface ChatIntegration {
  readonly channel: ChatChannel;
  /** Routes registered in their own encapsulated scope of the one HTTP listener. */
  readonly routes?: (app: FastifyInstance) => Promise<void>;
  /** Called on shutdown (sockets, timers). */
  readonly stop?: () => Promise<void>;
  /** Reaches people directly (escalation pages), where the platform can. */
  readonly directMessenger?: DirectMessenger;
  /** Tells the requester and the alert's channel about remediations. */
  readonly remediationNotifier?: RemediationNotifier;
  /** Looks people's e-mails up for automatic linking. */
  readonly directory?: IdentityDirectory;
}

export interface IntegrationContext {
  readonly config: Config;
  readonly handle: DbHandle;
  readonly logger: Logger;
  readonly clock: Clock;
}

/** The chat platforms this configuration turns on; a bare install records cards in the log. */
async function chatIntegrations(context: IntegrationContext): Promise<ChatIntegration[]> {
  const integrations: ChatIntegration[] = [];
  // Loaded only when turned on: Bolt and botbuilder weigh tens of MB an install without them should not carry.
  const { config } = context;
  if (config.SLACK_BOT_TOKEN !== undefined) {
    const { createSlackIntegration } = await import('./bot/slack/index.js');
    integrations.push(createSlackIntegration(context));
  }
  if (config.MICROSOFT_APP_ID !== undefined || config.VIGIL_TEAMS_DEV) {
    const { createTeamsIntegration } = await import('./bot/teams/index.js');
    const teams = createTeamsIntegration(context);
    if (teams !== null) integrations.push(teams);
  }
  if (integrations.length === 0) integrations.push({ channel: logChannel(context.logger) });
  return integrations;
}

/**
 * Silences and policies saved before patterns went through RE2 may hold one it cannot run: they
 * are disabled (audited) and each is reported here, so nobody finds out from a missed alert.
 */
async function reportUnrunnablePatterns(handle: DbHandle, logger: Logger, clock: Clock): Promise<void> {
  for (const disabled of await disableUnrunnablePatterns(handle.db, clock.now())) {
    logger.warn(
      {
        [disabled.kind === 'silence' ? 'silenceId' : 'policyId']: disabled.id,
        name: disabled.name,
        problems: disabled.problems.map(({ field, reason }) => ({ field, reason })),
      },
      `${disabled.kind} disabled: RE2 cannot run its pattern; fix it and save it again`,
    );
  }
}

/**
 * Console sign-in with OpenID Connect, when VIGIL_OIDC_* configure it (the config checks they come
 * together). Loaded only then: openid-client weighs MB an install without sign-in should not carry.
 */
async function oidcClient(config: Config): Promise<OidcClient | null> {
  const {
    VIGIL_OIDC_ISSUER: issuer,
    VIGIL_OIDC_CLIENT_ID: clientId,
    VIGIL_OIDC_CLIENT_SECRET: clientSecret,
  } = config;
  if (issuer === undefined || clientId === undefined || clientSecret === undefined) return null;
  const { OidcClient } = await import('./bot/http/sign-in/oidc-client.js');
  return new OidcClient({
    issuer,
    clientId,
    clientSecret,
    roleClaim: config.VIGIL_OIDC_ROLE_CLAIM,
    homeTenant: entraHomeTenant(config),
  });
}

export interface Vigil {
  readonly handle: DbHandle;
  /** `http://host:port` of the listener, when the web role runs. */
  readonly url: string | null;
  readonly app: FastifyInstance | null;
  readonly relay: OutboxRelay | null;
  stop(): Promise<void>;
}

/**
 * Wires Vigil's pieces together for the roles asked of this process. Migrations run first,
 * under an advisory lock, so any number of processes may start at once.
 */
export async function startVigil(options: StartOptions): Promise<Vigil> {
  const { config, logger, roles } = options;
  const clock = options.clock ?? systemClock;
  const handle = openDb({
    url: options.databaseUrl,
    schema: config.VIGIL_DB_SCHEMA,
    poolSize: config.VIGIL_DB_POOL_SIZE,
    applicationName: config.VIGIL_DB_APPLICATION_NAME,
    logger,
    acquireTimeoutMs: config.VIGIL_DB_ACQUIRE_TIMEOUT_MS,
  });
  const stops: (() => Promise<unknown>)[] = [() => handle.close()];
  const stop = async () => {
    for (const step of stops.reverse())
      await step().catch((error) => logger.warn({ err: error }, 'error while stopping'));
  };
  try {
    await waitForPostgres(handle, logger);
    const migrated = await migrate(handle);
    if (migrated.error !== undefined) throw new Error('database migration failed', { cause: migrated.error });
    await reportUnrunnablePatterns(handle, logger, clock);

    const integrations = options.integrations ?? (await chatIntegrations({ config, handle, logger, clock }));
    stops.push(() => Promise.all(integrations.map((integration) => integration.stop?.())));
    const producer = redisConnection(config.REDIS_URL, 'producer', logger);
    stops.push(async () => producer.quit());

    let relay: OutboxRelay | null = null;
    if (roles.worker) {
      // Loaded only by processes that run it: BullMQ and every worker's code are MB `vigil web` does not need.
      const { startWorkerRole } = await import('./worker-role.js');
      relay = await startWorkerRole(options, { handle, clock, integrations, producer, stops });
    }

    let url: string | null = null;
    let app: FastifyInstance | null = null;
    if (roles.web) {
      // Without VIGIL_PUBLIC_URL, the address the listener got (PORT=0 picks one).
      const configuredUrl = config.VIGIL_PUBLIC_URL === undefined ? null : publicUrl(config);
      const listenerUrl = () => configuredUrl ?? url ?? publicUrl(config);
      if (config.VIGIL_INGEST_TOKEN === undefined)
        throw new Error('VIGIL_INGEST_TOKEN is required for the web role');
      const server = await buildServer({
        handle,
        logger,
        clock,
        ingestToken: config.VIGIL_INGEST_TOKEN,
        apiToken: config.VIGIL_API_TOKEN,
        roles: { admins: config.VIGIL_ADMINS, defaultRole: config.VIGIL_DEFAULT_ROLE },
        ingestRateLimit: config.VIGIL_INGEST_RATE_LIMIT,
        // A process handed connections is one of VIGIL_WEB_PROCESSES; any other is its host's only one.
        ingestInFlight: ingestInFlight(
          availableParallelism(),
          options.handedConnections === true ? config.VIGIL_WEB_PROCESSES : 1,
          config.VIGIL_DB_POOL_SIZE,
        ),
        metricsToken: config.VIGIL_METRICS_TOKEN,
        ticketWebhookSecrets: {
          jira: config.VIGIL_JIRA_WEBHOOK_SECRET,
          servicenow: config.VIGIL_SERVICENOW_WEBHOOK_SECRET,
          webhook: config.VIGIL_TICKET_WEBHOOK_SECRET,
        },
        redisReady: async () => (await producer.ping()) === 'PONG',
        publicUrl: listenerUrl,
        oidc: await oidcClient(config),
        sessionHours: config.VIGIL_SESSION_HOURS,
        plugins: integrations.flatMap((integration) =>
          integration.routes === undefined ? [] : [integration.routes],
        ),
      });
      app = server.app;
      const listening = server.app;
      if (options.handedConnections === true) {
        const handed = await serveHandedConnections(server.app, config);
        stops.push(() => handed.close());
        url = handed.url;
      } else {
        stops.push(() => listening.close());
        await server.app.listen({ port: config.PORT, host: config.HOST });
        const address = server.app.server.address();
        url =
          typeof address === 'object' && address !== null ? `http://${config.HOST}:${address.port}` : null;
      }
    }
    return { handle, url, app, relay, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** How long a web process of a cluster lets the requests on its connections finish when it stops. */
const HANDED_DRAIN_MS = 25_000;

/**
 * Serves the connections the cluster's primary hands over, and says so once ready; returns the
 * URL people reach (the primary's) and how to stop. The server also listens, alone, on a loopback
 * port the system picks, which nothing advertises: Node arms an HTTP server's timeouts (headers,
 * requests) when it starts listening, and a server that never listened would let a slow client
 * hold a connection. Node's `close` waits only for the connections the server accepted itself, so
 * stopping waits here for the handed ones' requests to be answered, closing each connection idle.
 */
async function serveHandedConnections(
  app: FastifyInstance,
  config: Config,
): Promise<{ url: string; close(): Promise<void> }> {
  await app.listen({ port: 0, host: '127.0.0.1', exclusive: true });
  const open = new Set<net.Socket>();
  // Requests not answered yet: a client that half-closes its connection after sending closes the
  // socket before the answer, so the sockets alone do not say when the work is done.
  let answering = 0;
  app.server.on('request', (_request, response) => {
    answering += 1;
    response.once('close', () => {
      answering -= 1;
    });
  });
  process.on('message', (message, socket) => {
    if (message !== CONNECTION_MESSAGE || !(socket instanceof net.Socket)) return;
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    // What Node's own listener sets on the connections it accepts.
    socket.setNoDelay(true);
    app.server.emit('connection', socket);
    socket.resume();
  });
  process.send?.(READY_MESSAGE);
  return {
    url: publicUrl(config),
    close: async () => {
      await app.close();
      const until = Date.now() + HANDED_DRAIN_MS;
      while ((answering > 0 || open.size > 0) && Date.now() < until) {
        app.server.closeIdleConnections();
        await sleep(50);
      }
      for (const socket of open) socket.destroy();
    },
  };
}
