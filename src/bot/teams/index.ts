import type { ChatIntegration, IntegrationContext } from '../../app.js';
import { entraHomeTenant, publicUrl } from '../../config.js';
import { redisConnection } from '../../jobs/redis.js';
import { createBotbuilderPort } from './botbuilder.js';
import { teamsChannel } from './channel.js';
import { ConnectorClient } from './connector.js';
import { teamsDirectMessenger } from './direct-message.js';
import { teamsDirectory } from './directory.js';
import { teamsTurn } from './handlers.js';
import { ConversationPacer } from './pacer.js';
import type { BotFrameworkPort } from './port.js';
import { teamsRemediationNotifier } from './remediation-notices.js';
import { teamsRoutes } from './routes.js';

export type { BotFrameworkPort } from './port.js';

/**
 * Microsoft Teams, when configured: MICROSOFT_APP_ID turns it on with Bot Framework
 * authentication, for the tenants VIGIL_TEAMS_TENANTS lists; VIGIL_TEAMS_DEV=1 without an app ID
 * turns it on with none (local testing against the Emulator or a fake connector, on a loopback
 * HOST only). Otherwise null, and `/api/messages` is a 404.
 */
export function createTeamsIntegration(
  context: IntegrationContext,
  options: { port?: BotFrameworkPort } = {},
): ChatIntegration | null {
  const { config, handle, logger, clock } = context;
  if (config.MICROSOFT_APP_ID === undefined && !config.VIGIL_TEAMS_DEV) return null;
  if (config.MICROSOFT_APP_ID === undefined) {
    logger.warn(
      'VIGIL_TEAMS_DEV=1 without MICROSOFT_APP_ID: /api/messages accepts UNAUTHENTICATED Teams activities ' +
        'on this loopback address, with loopback serviceUrls only. Never use this outside local testing.',
    );
  }
  const port =
    options.port ??
    createBotbuilderPort(
      {
        appId: config.MICROSOFT_APP_ID,
        appPassword: config.MICROSOFT_APP_PASSWORD,
        appType: config.MICROSOFT_APP_TYPE,
        tenantId: config.MICROSOFT_APP_TENANT_ID,
      },
      logger,
    );
  const connector = new ConnectorClient({ token: () => port.connectorToken() });
  // The pacer's counts live in Redis so every worker process shares them.
  const redis = redisConnection(config.REDIS_URL, 'producer', logger);
  const pacer = new ConversationPacer({ redis, prefix: config.VIGIL_QUEUE_PREFIX });
  const render = { publicUrl: publicUrl(config) };
  const logic = teamsTurn({
    handle,
    clock,
    logger,
    connector,
    render,
    roles: { admins: config.VIGIL_ADMINS, defaultRole: config.VIGIL_DEFAULT_ROLE },
    // Without an app ID (dev mode) config.ts allows no tenant list: every tenant, on loopback only.
    gate: { tenants: config.VIGIL_TEAMS_TENANTS ?? '*', loopbackServiceUrlOnly: !port.authenticates },
  });
  return {
    channel: teamsChannel({ db: handle.db, connector, pacer, render, logger }),
    directMessenger: teamsDirectMessenger(handle.db, connector),
    directory: teamsDirectory(connector, entraHomeTenant(config)),
    remediationNotifier: teamsRemediationNotifier({
      db: handle.db,
      connector,
      pacer,
      logger,
      publicUrl: render.publicUrl,
    }),
    routes: teamsRoutes(port, logic),
    stop: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
