import type { Config } from '../../config.js';
import { builtinTickets } from './builtin.js';
import { jiraTickets } from './jira.js';
import type { TicketGateway } from './port.js';
import { serviceNowTickets } from './servicenow.js';
import { webhookTickets } from './webhook.js';

export { builtinTickets } from './builtin.js';
export * from './port.js';

/**
 * The ticketing connector the configuration chooses. `loadConfig` has already checked that the
 * chosen connector's variables are all set, so the non-null assertions below cannot fail.
 */
export function ticketGatewayFor(config: Config): TicketGateway {
  switch (config.VIGIL_TICKETING) {
    case 'builtin':
      return builtinTickets();
    case 'jira':
      return jiraTickets({
        baseUrl: required(config.JIRA_BASE_URL),
        email: required(config.JIRA_EMAIL),
        apiToken: required(config.JIRA_API_TOKEN),
        projectKey: required(config.JIRA_PROJECT_KEY),
      });
    case 'servicenow':
      return serviceNowTickets({
        instanceUrl: required(config.SERVICENOW_INSTANCE_URL),
        user: required(config.SERVICENOW_USER),
        password: required(config.SERVICENOW_PASSWORD),
        table: config.SERVICENOW_TABLE,
      });
    case 'webhook':
      return webhookTickets({
        url: required(config.VIGIL_TICKET_WEBHOOK_URL),
        secret: required(config.VIGIL_TICKET_WEBHOOK_SECRET),
      });
  }
}

function required(value: string | undefined): string {
  if (value === undefined) throw new Error('ticketing configuration was not validated (loadConfig)');
  return value;
}
