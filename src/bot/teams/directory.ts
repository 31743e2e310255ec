import { AUTO_LINK_REFUSALS, type TeamsMemberInfo, teamsDirectoryEntry } from '../../domain/index.js';
import type { IdentityDirectory } from '../../jobs/identity-lookup.worker.js';
import { type ConnectorClient, ConnectorError } from './connector.js';

/**
 * Teams members' e-mails for automatic linking, from the Bot Framework connector of the
 * conversation they wrote in, judged against this install's own Entra tenant (null: none known,
 * so nobody links automatically).
 */
export function teamsDirectory(connector: ConnectorClient, homeTenant: string | null): IdentityDirectory {
  return {
    platform: 'teams',
    lookup: async (userId, hint) => {
      if (hint.serviceUrl === undefined || hint.conversationId === undefined) return null;
      try {
        const member = await connector.getMember(hint.serviceUrl, hint.conversationId, userId);
        return teamsDirectoryEntry((member ?? {}) as TeamsMemberInfo, homeTenant);
      } catch (error) {
        // Left the conversation (or team) since: nothing to link by; other failures are retried.
        if (error instanceof ConnectorError && error.status === 404)
          return { email: null, verified: false, refusal: AUTO_LINK_REFUSALS.notPerson };
        throw error;
      }
    },
  };
}
