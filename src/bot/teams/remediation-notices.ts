import { PermanentChatError, type RemediationNotifier } from '../../domain/index.js';
import type { Logger } from '../../logger.js';
import { postedCards } from '../../storage/card.repository.js';
import type { Db } from '../../storage/db.js';
import { personalTeamsConversation } from '../../storage/oncall.repository.js';
import { getTeamsConversation } from '../../storage/teams-conversation.repository.js';
import { type RemediationNoticeModel, remediationNoticeModel } from '../card-model/index.js';
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
      const [conversationId, replyToId] = destination.startsWith(REPLY)
        ? atFirstBar(destination.slice(REPLY.length))
        : [destination.slice(DM.length), undefined];
      const model = remediationNoticeModel(notice, consoleRemediationsUrl(deps.publicUrl));
      const activityId = await send(conversationId, (conversation) =>
        deps.connector.send(conversation.serviceUrl, conversation.id, {
          ...noticeActivity(model),
          ...(replyToId === undefined ? {} : { replyToId }),
        }),
      );
      // Kept when it has buttons, so that completion can take them away (`retire`).
      return model.actions.length > 0 && activityId !== '' ? `${conversationId}|${activityId}` : undefined;
    },
    async retire(notice, messageRef) {
      const [conversationId, activityId = ''] = atFirstBar(messageRef);
      const model = remediationNoticeModel(notice, consoleRemediationsUrl(deps.publicUrl));
      await send(
        conversationId,
        (conversation) =>
          deps.connector.update(conversation.serviceUrl, conversation.id, activityId, noticeActivity(model)),
        'message',
      );
    },
  };

  /** One call to a conversation Vigil is still in, after the conversation's slot (shared with the cards). */
  async function send<T>(
    conversationId: string,
    call: (conversation: { readonly serviceUrl: string; readonly id: string }) => Promise<T>,
    about: 'conversation' | 'message' = 'conversation',
  ): Promise<T> {
    const conversation = await getTeamsConversation(deps.db, conversationId);
    if (conversation === null || !conversation.active) throw new PermanentChatError('conversation_inactive');
    await deps.pacer.acquire(conversationId);
    return guarded(conversationId, () => call(conversation), about);
  }
}

/**
 * `<conversation>|<activity>`, split at the first bar: Teams conversation IDs have none, while an
 * activity ID may (Direct Line's `<conversation>|<sequence>`).
 */
function atFirstBar(ref: string): [string, string | undefined] {
  const bar = ref.indexOf('|');
  return bar < 0 ? [ref, undefined] : [ref.slice(0, bar), ref.slice(bar + 1)];
}

/** A notice as a Teams message: its sentence as text, and its buttons (if any) in a card under it. */
function noticeActivity(model: RemediationNoticeModel) {
  return {
    type: 'message',
    text: model.text,
    textFormat: 'plain',
    // A click's answer replaces the card, never the text.
    ...(model.actions.length === 0
      ? {}
      : {
          attachments: [
            { contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: renderNoticeActionsCard(model.actions) },
          ],
        }),
  } as const;
}
