import {
  type CardAlert,
  ChatRateLimitedError,
  PermanentChatError,
  type RemoteChannel,
} from '../../domain/index.js';
import type { Logger } from '../../logger.js';
import type { Db } from '../../storage/db.js';
import { policyRouteTargets } from '../../storage/policy.repository.js';
import {
  deactivateTeamsConversation,
  getTeamsConversation,
  subscribedTeamsConversations,
  teamsConversationsWithCard,
} from '../../storage/teams-conversation.repository.js';
import { type ConnectorClient, ConnectorError, type OutboundActivity } from './connector.js';
import type { ConversationPacer } from './pacer.js';
import { ADAPTIVE_CARD_CONTENT_TYPE, cardSummary, type RenderOptions, renderAlertCard } from './render.js';
import { subscriptionMatches } from './subscription.js';

/** Statuses Teams documents as "slow down and retry": throttled, precondition (concurrent edit), gateway. */
const RETRY_LATER = new Set([412, 429, 502, 504]);
/** The bot is no longer in the conversation (removed, conversation deleted). */
const GONE = new Set([403, 404]);
/** Codes with which the connector says the conversation is gone, not only the message a call was about. */
const CONVERSATION_GONE = new Set([
  'ConversationNotFound',
  'BotNotInConversationRoster',
  'BotDisabledByAdmin',
]);

export interface TeamsChannelDeps {
  readonly db: Db;
  readonly connector: ConnectorClient;
  readonly pacer: ConversationPacer;
  readonly render: RenderOptions;
  readonly logger: Logger;
}

export const alertActivity = (alert: CardAlert, render: RenderOptions): OutboundActivity => ({
  type: 'message',
  summary: cardSummary(alert),
  attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: renderAlertCard(alert, render) }],
});

/**
 * Runs one call to a conversation, paced before (see `pace`): a throttle answer backs every
 * worker off that conversation, a conversation gone is marked inactive, and failures come back
 * as the domain's chat errors.
 */
export function guardedCalls(deps: Pick<TeamsChannelDeps, 'db' | 'pacer' | 'logger'>) {
  const { db, pacer, logger } = deps;
  /**
   * `about` a message: a 403 or 404 without a conversation-gone code means that message is gone
   * (someone deleted it), and the conversation stays active.
   */
  async function guarded<T>(
    target: string,
    call: () => Promise<T>,
    about: 'conversation' | 'message' = 'conversation',
  ): Promise<T> {
    try {
      const result = await call();
      await pacer.succeeded(target);
      return result;
    } catch (error) {
      if (!(error instanceof ConnectorError)) throw error;
      if (RETRY_LATER.has(error.status)) {
        const wait = await pacer.backOff(target, error.retryAfterMs);
        throw new ChatRateLimitedError(wait, { cause: error });
      }
      if (GONE.has(error.status) && about === 'message' && !CONVERSATION_GONE.has(error.platformCode ?? ''))
        throw new PermanentChatError(`teams_message_${error.status}`, { cause: error });
      if (GONE.has(error.status)) {
        await deactivateTeamsConversation(db, target, `connector answered ${error.status}`);
        logger.warn(
          { conversationId: target, status: error.status },
          'teams conversation gone; marked inactive',
        );
        throw new PermanentChatError(
          `teams_${error.status}${error.platformCode === null ? '' : `_${error.platformCode}`}`,
          {
            cause: error,
          },
        );
      }
      // Other 4xx (400 bad activity, 413 too big) will not get better by retrying.
      if (error.status >= 400 && error.status < 500) {
        throw new PermanentChatError(`teams_${error.status}`, { cause: error });
      }
      throw error;
    }
  }
  return guarded;
}

/**
 * Alert cards in Teams: proactive posts to the conversations that subscribed, updated in place
 * (PUT activity) as the alert changes. Failures come back as the domain's chat errors: the
 * notify worker delays the job on ChatRateLimitedError and records PermanentChatError on the card.
 */
export function teamsChannel(deps: TeamsChannelDeps): RemoteChannel {
  const { db, connector, pacer, render, logger } = deps;

  async function conversationFor(target: string) {
    const conversation = await getTeamsConversation(db, target);
    if (conversation === null || !conversation.active) throw new PermanentChatError('conversation_inactive');
    return conversation;
  }

  const guarded = guardedCalls({ db, pacer, logger });

  return {
    platform: 'teams',

    async targetsFor(alert) {
      const [subscribed, withCard] = await Promise.all([
        subscribedTeamsConversations(db),
        teamsConversationsWithCard(db, alert.id),
      ]);
      const targets = new Set(withCard);
      // Conversations a matching policy chose (they must be stored: the bot was added there).
      for (const id of await policyRouteTargets(db, alert.id, 'teams')) targets.add(id);
      for (const conversation of subscribed) {
        if (conversation.subscription !== null && subscriptionMatches(conversation.subscription, alert)) {
          targets.add(conversation.id);
        }
      }
      return [...targets];
    },

    async pace(_kind, _alert, target) {
      // Teams counts every send to a conversation alike, posts and updates.
      await pacer.acquire(target);
    },

    /**
     * Teams cannot look for a post whose answer was lost: the Bot Connector API has no way for a
     * bot to list a conversation's activities, and it assigns activity IDs itself (a client-chosen
     * ID is not honoured; reading channel messages would take Microsoft Graph and a resource-specific
     * consent Vigil does not ask for). So the window is kept as small as it can be (the activity ID is
     * recorded in the statement right after Teams answers) and, when an earlier attempt may have
     * posted, the card is posted again (a second card beats none) and the log says so.
     */
    async post(alert, target, attempt) {
      const conversation = await conversationFor(target);
      if (attempt.earlierAttemptAt !== null) {
        logger.warn(
          { alertId: alert.id, conversationId: target, cardId: attempt.cardId },
          'an earlier post of this Teams card may have gone through unrecorded; Teams cannot be searched, posting again',
        );
      }
      await attempt.sending();
      const id = await guarded(target, () =>
        connector.send(conversation.serviceUrl, conversation.id, alertActivity(alert, render)),
      );
      if (id === '') throw new PermanentChatError('teams_no_activity_id');
      return { messageRef: id, found: false };
    },

    async update(alert, target, messageRef) {
      const conversation = await conversationFor(target);
      // A card someone deleted fails alone (Teams answers 403 ServiceError or 404 ActivityNotFoundInConversation).
      await guarded(
        target,
        () =>
          connector.update(
            conversation.serviceUrl,
            conversation.id,
            messageRef,
            alertActivity(alert, render),
          ),
        'message',
      );
    },
  };
}
