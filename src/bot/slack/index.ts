import { App, type Authorize, LogLevel, type Logger as SlackLogger, SocketModeReceiver } from '@slack/bolt';
import { WebClient, type WebClientOptions } from '@slack/web-api';
import { Redis } from 'ioredis';
import type { ChatIntegration, IntegrationContext } from '../../app.js';
import { publicUrl } from '../../config.js';
import { logConnectionErrors } from '../../connection-log.js';
import { scrub } from '../../log-scrub.js';
import type { Logger } from '../../logger.js';
import { registerApprovals } from './approvals.js';
import { DEFAULT_PACING, SlackChannel, type SlackPacing } from './channel.js';
import { registerCommands } from './commands.js';
import type { SlackContext } from './context.js';
import { slackDirectMessenger } from './direct-message.js';
import { slackDirectory } from './directory.js';
import { registerHome } from './home.js';
import { registerInteractions } from './interactions.js';
import { SlackPacer } from './pacer.js';
import { FastifyReceiver } from './receiver.js';
import { registerRemediation } from './remediation.js';
import { slackRemediationNotifier } from './remediation-notices.js';

/** Bolt's logger interface over Vigil's pino logger. */
function boltLogger(logger: Logger): SlackLogger {
  const child = logger.child({ component: 'slack' });
  // Objects Bolt logs (errors with their request attached) are scrubbed before they become text.
  const line = (messages: unknown[]) =>
    messages.map((m) => (typeof m === 'string' ? m : JSON.stringify(scrub(m)))).join(' ');
  return {
    debug: (...messages) => child.debug(line(messages)),
    info: (...messages) => child.info(line(messages)),
    warn: (...messages) => child.warn(line(messages)),
    error: (...messages) => child.error(line(messages)),
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: () => {},
  };
}

/**
 * Web API options: `SLACK_API_URL` when set (tests point it at a fake), 429s thrown rather than
 * waited out (a wait would pause this client's whole queue, every channel with it), no client
 * retries (the job queue retries, and a blind retry of chat.postMessage could post twice), and no
 * request attached to errors. Bolt's App gets the same options, so both clients behave alike.
 */
export function webClientOptions(apiUrl: string | undefined, logger: SlackLogger): WebClientOptions {
  return {
    ...(apiUrl === undefined ? {} : { slackApiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` }),
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: 10_000,
    logger,
    // Otherwise a network failure's error carries the original request, bot token header included.
    attachOriginalToWebAPIRequestError: false,
  };
}

export interface SlackIntegrationOptions {
  /** Overrides Slack's pacing (benchmarks). */
  readonly pacing?: SlackPacing;
  /** Wall-clock for the signature's replay window. */
  readonly nowMs?: () => number;
}

/**
 * Slack for Vigil: a Bolt app whose receiver lives in Vigil's HTTP listener (`POST /slack/events`),
 * or in a Socket Mode connection when SLACK_APP_TOKEN is set, and the chat channel the notify
 * worker posts cards through.
 */
export function createSlackIntegration(
  context: IntegrationContext,
  options: SlackIntegrationOptions = {},
): ChatIntegration {
  const { config, handle, logger, clock } = context;
  const token = config.SLACK_BOT_TOKEN;
  if (token === undefined) throw new Error('SLACK_BOT_TOKEN is required to turn Slack on');
  const slackLogger = boltLogger(logger);
  const clientOptions = webClientOptions(config.SLACK_API_URL, slackLogger);
  const client = new WebClient(token, clientOptions);
  const render = { publicUrl: publicUrl(config) };

  // One token, no OAuth: Bolt's own auth.test on start-up is skipped (the bot ID is only used to
  // ignore the bot's own messages, and Vigil listens to none).
  const authorize: Authorize<boolean> = async () => ({ botToken: token });
  const socketMode = config.SLACK_APP_TOKEN !== undefined;
  let receiver: FastifyReceiver | SocketModeReceiver;
  if (socketMode) {
    // Its own Web API client (apps.connections.open, with the app token) takes the same options.
    receiver = new SocketModeReceiver({
      appToken: config.SLACK_APP_TOKEN as string,
      logger: slackLogger,
      installerOptions: { clientOptions },
    });
  } else {
    if (config.SLACK_SIGNING_SECRET === undefined) {
      throw new Error(
        'SLACK_SIGNING_SECRET is required with SLACK_BOT_TOKEN (or set SLACK_APP_TOKEN for Socket Mode)',
      );
    }
    receiver = new FastifyReceiver({
      signingSecret: config.SLACK_SIGNING_SECRET,
      logger,
      ...(options.nowMs === undefined ? {} : { nowMs: options.nowMs }),
    });
  }
  const app = new App({ receiver, authorize, clientOptions, logger: slackLogger, ignoreSelf: false });
  const slack: SlackContext = {
    handle,
    clock,
    logger,
    client,
    roles: { admins: config.VIGIL_ADMINS, defaultRole: config.VIGIL_DEFAULT_ROLE },
    render,
  };
  registerInteractions(app, slack);
  registerApprovals(app, slack);
  registerRemediation(app, slack);
  registerCommands(app, slack);
  registerHome(app, slack);
  app.error(async (error) => {
    logger.error({ err: error }, 'Slack listener error');
  });

  // Pacing slots live in Redis so every worker process shares them.
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3, lazyConnect: true });
  redis.on('error', logConnectionErrors(logger, 'redis slack-pacer'));
  const pacer = new SlackPacer(redis, config.VIGIL_QUEUE_PREFIX);
  const channel = new SlackChannel({
    client,
    handle,
    pacer,
    logger,
    render,
    defaultChannel: config.SLACK_ALERT_CHANNEL,
    ...(options.pacing === undefined ? {} : { pacing: options.pacing }),
  });

  if (socketMode) {
    app.start().catch((error: unknown) => logger.error({ err: error }, 'Slack Socket Mode failed to start'));
  }
  return {
    channel,
    directMessenger: slackDirectMessenger(client),
    directory: slackDirectory(client),
    remediationNotifier: slackRemediationNotifier({
      client,
      db: handle.db,
      pacer,
      publicUrl: render.publicUrl,
      postIntervalMs: (options.pacing ?? DEFAULT_PACING).postIntervalMs,
      updateIntervalMs: (options.pacing ?? DEFAULT_PACING).updateIntervalMs,
    }),
    ...(receiver instanceof FastifyReceiver ? { routes: receiver.routes } : {}),
    stop: async () => {
      if (socketMode)
        await app
          .stop()
          .catch((error: unknown) => logger.warn({ err: error }, 'Slack Socket Mode stop failed'));
      redis.disconnect();
    },
  };
}
