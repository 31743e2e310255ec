import type { WebClient } from '@slack/web-api';
import { ChatRateLimitedError, type RemediationNotifier } from '../../domain/index.js';
import { postedCards } from '../../storage/card.repository.js';
import type { Db } from '../../storage/db.js';
import { remediationNoticeModel } from '../card-model/index.js';
import { consoleRemediationsUrl } from '../console-links.js';
import { toChatError } from './errors.js';
import type { SlackPacer } from './pacer.js';
import { renderRemediationNotice } from './render.js';

/** Destinations: `dm:<user ID>` (the requester) and `thread:<channel>:<card ts>` (each card of the alert). */
const DM = 'dm:';
const THREAD = 'thread:';

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
}): RemediationNotifier {
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
      const slot = `post:${channel}`;
      await deps.pacer.take(slot, deps.postIntervalMs);
      try {
        await deps.client.chat.postMessage({
          channel,
          ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
          ...renderRemediationNotice(remediationNoticeModel(notice, consoleRemediationsUrl(deps.publicUrl))),
          unfurl_links: false,
          unfurl_media: false,
        });
      } catch (error) {
        const translated = toChatError(error);
        if (translated instanceof ChatRateLimitedError) await deps.pacer.block(slot, translated.retryAfterMs);
        throw translated;
      }
    },
  };
}
