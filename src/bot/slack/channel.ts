import type { WebClient } from '@slack/web-api';
import {
  type CardAlert,
  ChatRateLimitedError,
  PermanentChatError,
  type PostAttempt,
  type RemoteChannel,
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

/** The message metadata every card carries, so a card whose post answer was lost can be found. */
export const CARD_EVENT_TYPE = 'vigil_alert_card';
/** A lost post is looked for from this long before its attempt began (clocks of Vigil and Slack differ). */
const LOOKBACK_MS = 5 * 60_000;
/** conversations.history pages of this size, at most this many: a channel busier than that is not searched further. */
const HISTORY_PAGE = 200;
const HISTORY_PAGES = 5;

interface HistoryMessage {
  readonly ts?: string;
  readonly metadata?: { readonly event_type?: string; readonly event_payload?: Record<string, unknown> };
}

/**
 * Alert cards in Slack channels. The card's `messageRef` is the message `ts`, kept as the string
 * Slack returns (a number would lose digits). Every status or assignment change is also told in
 * the card's thread, once: the last audit row told is stored per card.
 */
export class SlackChannel implements RemoteChannel {
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

  /**
   * Looks at the slot (chat.postMessage per channel, chat.update per workspace) before the card is
   * claimed; the slot itself is taken right before the call, so calls keep their spacing.
   */
  async pace(kind: 'post' | 'update', _alert: CardAlert, target: string): Promise<void> {
    if (kind === 'post') await this.deps.pacer.peek(postKey(target), this.pacing.postIntervalMs);
    else await this.deps.pacer.peek(UPDATE_KEY, this.pacing.updateIntervalMs);
  }

  /**
   * Posts the card with the alert and card IDs in its message metadata. When an earlier attempt
   * may have posted it (its answer was never recorded), looks for that message first, in the
   * channel's history since the attempt began, so a crash between Slack's answer and the record
   * costs no second card.
   */
  async post(
    alert: CardAlert,
    target: string,
    attempt: PostAttempt,
  ): Promise<{ readonly messageRef: string; readonly found: boolean }> {
    const { client, handle } = this.deps;
    if (attempt.earlierAttemptAt !== null) {
      const found = await this.findPosted(target, attempt.cardId, attempt.earlierAttemptAt);
      if (found !== null) return { messageRef: found, found: true };
    }
    // The thread starts from the changes made before the card existed: the card already shows them.
    const baseline = await lastChangeId(handle.db, alert.id);
    const message = renderAlertCard(alert, this.deps.render);
    await attempt.sending();
    await this.deps.pacer.take(postKey(target), this.pacing.postIntervalMs, cardKey(alert, target));
    const result = await this.call(postKey(target), () =>
      client.chat.postMessage({
        channel: target,
        text: message.text,
        blocks: [...message.blocks] as never,
        metadata: {
          event_type: CARD_EVENT_TYPE,
          event_payload: { alertId: alert.id, cardId: attempt.cardId },
        },
        unfurl_links: false,
        unfurl_media: false,
      }),
    );
    if (typeof result.ts !== 'string' || result.ts === '')
      throw new Error('chat.postMessage answered without a ts');
    await recordThreadNoted(handle.db, alert.id, target, baseline);
    return { messageRef: result.ts, found: false };
  }

  /**
   * The ts of the card `cardId` in the channel, posted at or after `since`, or null. Reads the
   * channel's history (newest first, with message metadata) back to a little before `since`.
   * Without the history scope the card cannot be looked for: it is posted again, and said so.
   */
  private async findPosted(channel: string, cardId: string, since: Date): Promise<string | null> {
    const oldest = ((since.getTime() - LOOKBACK_MS) / 1000).toFixed(6);
    let cursor: string | undefined;
    for (let page = 0; page < HISTORY_PAGES; page += 1) {
      let result: {
        messages?: HistoryMessage[];
        has_more?: boolean;
        response_metadata?: { next_cursor?: string };
      };
      try {
        result = await this.call('history', () =>
          this.deps.client.conversations.history({
            channel,
            oldest,
            limit: HISTORY_PAGE,
            include_all_metadata: true,
            ...(cursor === undefined ? {} : { cursor }),
          }),
        );
      } catch (error) {
        if (!(error instanceof PermanentChatError)) throw error;
        this.deps.logger.warn(
          { channel, cardId, platformError: error.platformError },
          'cannot read the channel history to look for an earlier post of this card; posting it (it may show twice)',
        );
        return null;
      }
      const found = (result.messages ?? []).find(
        (message) =>
          message.metadata?.event_type === CARD_EVENT_TYPE &&
          message.metadata.event_payload?.cardId === cardId,
      );
      if (found?.ts !== undefined) return found.ts;
      cursor = result.response_metadata?.next_cursor;
      if (result.has_more !== true || cursor === undefined || cursor === '') return null;
    }
    return null;
  }

  async update(alert: CardAlert, target: string, messageRef: string): Promise<void> {
    const { client, handle, logger } = this.deps;
    const noted = await threadNotedUpTo(handle.db, alert.id, target);
    const changes = noted === null ? [] : await changesSince(handle.db, alert.id, noted);
    // The slots last, right before the calls, so the calls keep their spacing.
    await this.deps.pacer.take(UPDATE_KEY, this.pacing.updateIntervalMs, cardKey(alert, target));
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
