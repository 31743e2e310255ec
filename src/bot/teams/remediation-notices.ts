import { PermanentChatError, type RemediationNotifier } from '../../domain/index.js';
import type { Logger } from '../../logger.js';
import { postedCards } from '../../storage/card.repository.js';
import type { Db } from '../../storage/db.js';
import { personalTeamsConversation } from '../../storage/oncall.repository.js';
import { getTeamsConversation } from '../../storage/teams-conversation.repository.js';
import { remediationNoticeModel } from '../card-model/index.js';
import { consoleRemediationsUrl } from '../console-links.js';
import { guardedCalls } from './channel.js';
import type { ConnectorClient } from './connector.js';
import type { ConversationPacer } from './pacer.js';
import { ADAPTIVE_CARD_CONTENT_TYPE, renderNoticeActionsCard } from './render.js';

/** Destinations: `dm:<personal conversation>` (the requester) and `reply:<conversation>|<card activity>`. */
const DM = 'dm:';
const REPLY = 'reply:';

/**
 * Remediation notices in Teams: a message in the requester's personal chat with the bot when they
 * asked from Teams, and a reply to each Teams card of the alert the remediation came from. Every
 * send takes the conversation's slot first (shared with the cards).
 */
export function teamsRemediationNotifier(deps: {
  readonly db: Db;
  readonly connector: ConnectorClient;
  readonly pacer: ConversationPacer;
  readonly logger: Logger;
  readonly publicUrl: string;
}): RemediationNotifier {
  const guarded = guardedCalls(deps);
  return {
    platform: 'teams',
    async destinations(notice) {
      const requester = notice.requester;
      const personal =
        requester.kind === 'user' && requester.platform === 'teams'
          ? await personalTeamsConversation(deps.db, requester.id)
          : null;
      const dm = personal === null ? [] : [`${DM}${personal.id}`];
      if (notice.alertId === null) return dm;
      const cards = await postedCards(deps.db, notice.alertId, 'teams');
      return [...dm, ...cards.map((card) => `${REPLY}${card.target}|${card.messageRef}`)];
    },
    async deliver(notice, destination) {
      const [conversationId = '', replyToId] = destination.startsWith(REPLY)
        ? destination.slice(REPLY.length).split('|')
        : [destination.slice(DM.length)];
      const conversation = await getTeamsConversation(deps.db, conversationId);
      if (conversation === null || !conversation.active)
        throw new PermanentChatError('conversation_inactive');
      const model = remediationNoticeModel(notice, consoleRemediationsUrl(deps.publicUrl));
      await deps.pacer.acquire(conversationId);
      await guarded(conversationId, () =>
        deps.connector.send(conversation.serviceUrl, conversation.id, {
          type: 'message',
          text: model.text,
          textFormat: 'plain',
          // The buttons in a card under the text; a click's answer replaces the card, never the text.
          ...(model.actions.length === 0
            ? {}
            : {
                attachments: [
                  {
                    contentType: ADAPTIVE_CARD_CONTENT_TYPE,
                    content: renderNoticeActionsCard(model.actions),
                  },
                ],
              }),
          ...(replyToId === undefined ? {} : { replyToId }),
        }),
      );
      // Not kept: a Teams notice keeps its buttons after completion; the command answers a click on them.
      return undefined;
    },
  };
}
