// The only file that imports botbuilder (see port.ts for why).
import {
  type Activity,
  ActivityTypes,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  ConfigurationServiceClientCredentialFactory,
  type TurnContext,
} from 'botbuilder';
import type { Logger } from '../../logger.js';
import type { BotFrameworkPort, BotRequest, BotResponse, TurnLogic } from './port.js';

/** The Bot Framework credentials from Vigil's configuration (MICROSOFT_APP_*). */
export interface BotCredentials {
  readonly appId: string | undefined;
  readonly appPassword: string | undefined;
  readonly appType: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI' | undefined;
  readonly tenantId: string | undefined;
}

// The audience and login endpoint botbuilder itself uses for bot-to-channel calls in the public cloud.
const CONNECTOR_AUDIENCE = 'https://api.botframework.com';
const CONNECTOR_LOGIN_URL = 'https://login.microsoftonline.com/botframework.com';

/**
 * CloudAdapter.process(req, res) wants Express-shaped objects and writes the answer itself;
 * processActivity (protected) takes the parsed activity and the Authorization header and
 * returns the invoke response, which is all Fastify needs. `processActivityDirect` would drop it.
 */
class VigilCloudAdapter extends CloudAdapter {
  run(authorization: string, activity: Activity, logic: (context: TurnContext) => Promise<void>) {
    return this.processActivity(authorization, activity, logic);
  }
}

/**
 * botbuilder's CloudAdapter with ConfigurationBotFrameworkAuthentication. Without an app ID the
 * SDK treats authentication as disabled (the Emulator's mode): only VIGIL_TEAMS_DEV gets here then.
 */
export function createBotbuilderPort(credentials: BotCredentials, logger: Logger): BotFrameworkPort {
  // botbuilder's options are exact-optional: a key must be absent, not undefined.
  const options: Record<string, string> = Object.fromEntries(
    Object.entries({
      MicrosoftAppId: credentials.appId,
      MicrosoftAppPassword: credentials.appPassword,
      MicrosoftAppType: credentials.appType,
      MicrosoftAppTenantId: credentials.tenantId,
    }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const credentialFactory = new ConfigurationServiceClientCredentialFactory(options);
  const auth = new ConfigurationBotFrameworkAuthentication(options, credentialFactory);
  const adapter = new VigilCloudAdapter(auth);
  adapter.onTurnError = async (_context, error) => {
    // Our logic answers its own failures; anything reaching here is a bug worth a log line, and the
    // adapter turns the rethrow into a 500 without a body we control.
    logger.error({ err: error }, 'teams turn failed');
    throw error;
  };

  return {
    authenticates: credentials.appId !== undefined,

    async process(request: BotRequest, logic: TurnLogic): Promise<BotResponse> {
      const body = request.body;
      if (
        body === null ||
        typeof body !== 'object' ||
        typeof (body as { type?: unknown }).type !== 'string'
      ) {
        return { status: 400 };
      }
      const header = request.headers.authorization;
      const authorization = typeof header === 'string' ? header : '';
      try {
        let refusal: BotResponse | undefined;
        const invokeResponse = await adapter.run(
          authorization,
          body as Activity,
          async (context: TurnContext) => {
            const answer = await logic(context.activity);
            if (answer === undefined) return;
            if (context.activity.type === ActivityTypes.Invoke) {
              // botbuilder keeps an `invokeResponse` activity in the turn state and returns it from processActivity.
              await context.sendActivity({ type: ActivityTypes.InvokeResponse, value: answer });
            } else {
              refusal = { status: answer.status, body: answer.body };
            }
          },
        );
        if (refusal !== undefined) return refusal;
        if (invokeResponse === undefined) return { status: 200 };
        return invokeResponse.body === undefined
          ? { status: invokeResponse.status }
          : { status: invokeResponse.status, body: invokeResponse.body };
      } catch (error) {
        // botframework-connector's AuthenticationError carries statusCode 401 (bad or missing JWT).
        const statusCode = (error as { statusCode?: unknown }).statusCode;
        if (statusCode === 401 || statusCode === 403) {
          logger.warn({ reason: (error as Error).message }, 'teams request refused: not authenticated');
          return { status: 401 };
        }
        logger.error({ err: error }, 'teams request failed');
        return { status: 500 };
      }
    },

    async connectorToken(): Promise<string | null> {
      if (credentials.appId === undefined) return null;
      const appCredentials = await credentialFactory.createCredentials(
        credentials.appId,
        CONNECTOR_AUDIENCE,
        CONNECTOR_LOGIN_URL,
        true,
      );
      const withToken = appCredentials as { getToken?: (forceRefresh?: boolean) => Promise<string> };
      if (typeof withToken.getToken !== 'function')
        throw new Error('these Bot Framework credentials cannot issue tokens');
      return withToken.getToken();
    },
  };
}
