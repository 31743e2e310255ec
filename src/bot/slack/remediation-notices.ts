import type { WebClient } from '@slack/web-api';
import { ChatRateLimitedError, PermanentChatError, type RemediationNotifier } from '../../domain/index.js';
import { postedCards } from '../../storage/card.repository.js';
import type { Db } from '../../storage/db.js';
import { remediationNoticeModel } from '../card-model/index.js';
import { consoleRemediationsUrl } from '../console-links.js';
import { slackErrorCode, toChatError } from './errors.js';
import type { SlackPacer } from './pacer.js';
import { renderRemediationNotice } from './render.js';

/** Destinations: `dm:<user ID>` (the requester) and `thread:<channel>:<card ts>` (each card of the alert). */
const DM = 'dm:';
/** chat.update's pace slot, shared with the cards' updates (Slack allows about one a second). */
const UPDATE_SLOT = 'update';
const THREAD = 'thread:';

/** What chat.update answers for a notice that can no longer be changed: trying again cannot help. */
const GONE_MESSAGE: ReadonlySet<string> = new Set([
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
]);

/**
 * Remediation notices in Slack: a direct message to the requester when they asked from Slack, and
 * a reply in the thread of each Slack card of the alert the remediation came from. Each post takes
 * its channel's slot (one message per second per channel, shared with the cards) first.
 */
export function slackRemediationNotifier(deps: {
  readonly client: WebClient;
  readonly db: Db;
  readonly pacer: SlackPacer;
  readonly publicUrl: string;
  readonly postIntervalMs: number;
  readonly updateIntervalMs: number;
}): RemediationNotifier {
  /** One call in its pace slot; a rate limit blocks the slot for as long as Slack says. */
  async function paced<T>(slot: string, intervalMs: number, call: () => Promise<T>): Promise<T> {
    await deps.pacer.take(slot, intervalMs);
    try {
      return await call();
    } catch (error) {
      const translated = error instanceof PermanentChatError ? error : toChatError(error);
      if (translated instanceof ChatRateLimitedError) await deps.pacer.block(slot, translated.retryAfterMs);
      throw translated;
    }
  }
  return {
    platform: 'slack',
    async destinations(notice) {
      const requester = notice.requester;
      const dm = requester.kind === 'user' && requester.platform === 'slack' ? [`${DM}${requester.id}`] : [];
      if (notice.alertId === null) return dm;
      const cards = await postedCards(deps.db, notice.alertId, 'slack');
      return [...dm, ...cards.map((card) => `${THREAD}${card.target}:${card.messageRef}`)];
    },
    async deliver(notice, destination) {
      const [channel = '', threadTs] = destination.startsWith(THREAD)
        ? destination.slice(THREAD.length).split(':')
        : [destination.slice(DM.length)];
      const message = renderRemediationNotice(
        remediationNoticeModel(notice, consoleRemediationsUrl(deps.publicUrl)),
      );
      const posted = await paced(`post:${channel}`, deps.postIntervalMs, () =>
        deps.client.chat.postMessage({
          channel,
          ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
          ...message,
          unfurl_links: false,
          unfurl_media: false,
        }),
      );
      // A DM is answered with its conversation's ID (D...), which chat.update needs.
      return message.blocks.length > 0 && posted.channel !== undefined && posted.ts !== undefined
        ? `${posted.channel}:${posted.ts}`
        : undefined;
    },
    async retire(notice, messageRef) {
      const [channel = '', ts = ''] = messageRef.split(':');
      const message = renderRemediationNotice(
        remediationNoticeModel(notice, consoleRemediationsUrl(deps.publicUrl)),
      );
      await paced(UPDATE_SLOT, deps.updateIntervalMs, async () => {
        try {
          return await deps.client.chat.update({
            channel,
            ts,
            text: message.text,
            blocks: [...message.blocks] as never,
          });
        } catch (error) {
          const code = slackErrorCode(error);
          throw code !== null && GONE_MESSAGE.has(code)
            ? new PermanentChatError(code, { cause: error })
            : error;
        }
      });
    },
  };
}
