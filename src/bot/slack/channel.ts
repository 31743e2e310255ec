import type { WebClient } from '@slack/web-api';
import {
  type CardAlert,
  type ChatChannel,
  ChatRateLimitedError,
  PermanentChatError,
} from '../../domain/index.js';
import type { Logger } from '../../logger.js';
import type { DbHandle } from '../../storage/db.js';
import { policyRouteTargets } from '../../storage/policy.repository.js';
import {
  changesSince,
  lastChangeId,
  recordThreadNoted,
  routedChannels,
  threadNotedUpTo,
} from '../../storage/slack-route.repository.js';
import { slackErrorCode, toChatError } from './errors.js';
import type { SlackPacer } from './pacer.js';
import { type RenderOptions, renderAlertCard, renderChangeNote } from './render.js';

/** Pacing within Slack's limits (docs.slack.dev/apis/web-api/rate-limits). */
export interface SlackPacing {
  /** chat.postMessage: about one message per second per channel. @defaultValue 1000 */
  readonly postIntervalMs: number;
  /** chat.update is Tier 3 (50+ per minute per workspace). @defaultValue 1200 */
  readonly updateIntervalMs: number;
}

export const DEFAULT_PACING: SlackPacing = { postIntervalMs: 1000, updateIntervalMs: 1200 };

export interface SlackChannelDeps {
  readonly client: WebClient;
  readonly handle: DbHandle;
  readonly pacer: SlackPacer;
  readonly logger: Logger;
  readonly render: RenderOptions;
  /** SLACK_ALERT_CHANNEL: where alerts go when no route matches. */
  readonly defaultChannel: string | undefined;
  readonly pacing?: SlackPacing;
}

const postKey = (channel: string) => `post:${channel}`;
const UPDATE_KEY = 'update';
const cardKey = (alert: CardAlert, target: string) => `${alert.id}:${target}`;

/**
 * Alert cards in Slack channels. The card's `messageRef` is the message `ts`, kept as the string
 * Slack returns (a number would lose digits). Every status or assignment change is also told in
 * the card's thread, once: the last audit row told is stored per card.
 */
export class SlackChannel implements ChatChannel {
  readonly platform = 'slack';
  private readonly pacing: SlackPacing;

  constructor(private readonly deps: SlackChannelDeps) {
    this.pacing = deps.pacing ?? DEFAULT_PACING;
  }

  async targetsFor(alert: CardAlert): Promise<readonly string[]> {
    // Channels a matching policy chose come first, then the channel routes.
    const [byPolicy, byRoute] = await Promise.all([
      policyRouteTargets(this.deps.handle.db, alert.id, 'slack'),
      routedChannels(this.deps.handle.db, alert),
    ]);
    const routed = [...new Set([...byPolicy, ...byRoute])];
    if (routed.length > 0) return routed;
    return this.deps.defaultChannel === undefined ? [] : [this.deps.defaultChannel];
  }

  async post(alert: CardAlert, target: string): Promise<{ readonly messageRef: string }> {
    const { client, handle } = this.deps;
    // The slot first: in a storm most callers stop here, before any query.
    await this.deps.pacer.take(postKey(target), this.pacing.postIntervalMs, cardKey(alert, target));
    // The thread starts from the changes made before the card existed: the card already shows them.
    const baseline = await lastChangeId(handle.db, alert.id);
    const message = renderAlertCard(alert, this.deps.render);
    const result = await this.call(postKey(target), () =>
      client.chat.postMessage({
        channel: target,
        text: message.text,
        blocks: [...message.blocks] as never,
        unfurl_links: false,
        unfurl_media: false,
      }),
    );
    if (typeof result.ts !== 'string' || result.ts === '')
      throw new Error('chat.postMessage answered without a ts');
    await recordThreadNoted(handle.db, alert.id, target, baseline);
    return { messageRef: result.ts };
  }

  async update(alert: CardAlert, target: string, messageRef: string): Promise<void> {
    const { client, handle, logger } = this.deps;
    await this.deps.pacer.take(UPDATE_KEY, this.pacing.updateIntervalMs, cardKey(alert, target));
    const noted = await threadNotedUpTo(handle.db, alert.id, target);
    const changes = noted === null ? [] : await changesSince(handle.db, alert.id, noted);
    if (changes.length > 0)
      await this.deps.pacer.take(postKey(target), this.pacing.postIntervalMs, cardKey(alert, target));
    const message = renderAlertCard(alert, this.deps.render);
    await this.call(UPDATE_KEY, () =>
      client.chat.update({
        channel: target,
        ts: messageRef,
        text: message.text,
        blocks: [...message.blocks] as never,
      }),
    );
    const last = changes.at(-1);
    if (last === undefined) {
      if (noted === null)
        await recordThreadNoted(handle.db, alert.id, target, await lastChangeId(handle.db, alert.id));
      return;
    }
    try {
      // One reply for all the changes since the last one told, to spend one message of the channel's pace.
      await this.call(postKey(target), () =>
        client.chat.postMessage({
          channel: target,
          thread_ts: messageRef,
          text: changes.map(renderChangeNote).join('\n'),
          unfurl_links: false,
          unfurl_media: false,
        }),
      );
    } catch (error) {
      // The card itself is current; a thread that refuses replies is not worth failing the card over.
      if (!(error instanceof PermanentChatError)) throw error;
      logger.warn(
        { alertId: alert.id, channel: target, platformError: error.platformError },
        'could not reply in the card thread',
      );
    }
    await recordThreadNoted(handle.db, alert.id, target, last.id);
  }

  /** Runs one Web API call, translating its failure; a 429 also closes the slot for everyone until Retry-After. */
  private async call<T>(slot: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const translated = toChatError(error);
      if (translated instanceof ChatRateLimitedError)
        await this.deps.pacer.block(slot, translated.retryAfterMs);
      if (translated !== error) {
        this.deps.logger.debug({ slot, slackError: slackErrorCode(error) }, 'Slack Web API call refused');
      }
      throw translated;
    }
  }
}
