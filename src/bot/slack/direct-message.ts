import type { WebClient } from '@slack/web-api';
import type { DirectMessenger } from '../../domain/index.js';
import { toChatError } from './errors.js';

/**
 * Direct messages in Slack: chat.postMessage with a user ID as the channel posts in the app's DM
 * with that person (no conversations.open round trip). Failures come back as the domain's chat
 * errors, so a 429 delays the escalation job rather than losing the page.
 */
export function slackDirectMessenger(client: WebClient): DirectMessenger {
  return {
    platform: 'slack',
    async send(person, text) {
      if (person.slack === undefined) return 'no_identity';
      try {
        await client.chat.postMessage({
          channel: person.slack,
          text,
          unfurl_links: false,
          unfurl_media: false,
        });
      } catch (error) {
        throw toChatError(error);
      }
      return 'sent';
    },
  };
}
