import { ChatRateLimitedError, type DirectMessenger } from '../../domain/index.js';
import type { Db } from '../../storage/db.js';
import { personalTeamsConversation } from '../../storage/oncall.repository.js';
import { type ConnectorClient, ConnectorError } from './connector.js';

/**
 * Direct messages in Teams: a proactive message to the person's stored personal chat (the bot
 * must have been installed for them, which stores it). Without one, the person cannot be
 * reached here and the step says so in the logs.
 */
export function teamsDirectMessenger(db: Db, connector: ConnectorClient): DirectMessenger {
  return {
    platform: 'teams',
    async send(person, text) {
      if (person.teams === undefined) return 'no_identity';
      const conversation = await personalTeamsConversation(db, person.teams);
      if (conversation === null) return 'no_identity';
      try {
        await connector.send(conversation.serviceUrl, conversation.id, {
          type: 'message',
          text,
          textFormat: 'plain',
        });
      } catch (error) {
        if (error instanceof ConnectorError && [412, 429, 502, 504].includes(error.status)) {
          throw new ChatRateLimitedError(error.retryAfterMs ?? 1_000, { cause: error });
        }
        throw error;
      }
      return 'sent';
    },
  };
}
