import type { Alert, AlertStatus } from './alert/alert.js';
import type { ActionKind, ActionStatus } from './approval/action.js';
import type { InvestigationStatus } from './investigation/investigation.js';

/**
 * A chat platform as the notify pipeline sees it. Each adapter (Slack, Teams, the recording
 * channel of a bare install) renders the alert its own way; the pipeline decides when.
 */
/** Where alert cards go: a chat platform, or (with none configured) Vigil's own log. */
export type ChatChannel = RemoteChannel | LocalChannel;

interface ChannelBase {
  /** `slack`, `teams`, `log`: the platform named on the card row and in the audit trail. */
  readonly platform: string;
  /** Where this alert's cards go on this platform (channel IDs, conversation IDs). */
  targetsFor(alert: CardAlert): Promise<readonly string[]>;
}

/** A chat platform: each card is claimed, sent over the network, and recorded if still ours. */
export interface RemoteChannel extends ChannelBase {
  readonly local?: false;
  /**
   * Checks the platform's pace for one post or update of this card before the card is claimed:
   * throws ChatRateLimitedError with the wait when the slot is not free, so the job comes back
   * without claiming. (`post` and `update` still honour the pace themselves when they call.)
   */
  pace(kind: 'post' | 'update', alert: CardAlert, target: string): Promise<void>;
  /**
   * Posts a new card; returns the platform's reference to it (Slack `ts`, Teams activity ID).
   * `found`: the card was already there, posted by an earlier attempt whose answer was lost; it
   * may show an older state.
   */
  post(
    alert: CardAlert,
    target: string,
    attempt: PostAttempt,
  ): Promise<{ readonly messageRef: string; readonly found: boolean }>;
  /** Replaces the card in place. */
  update(alert: CardAlert, target: string, messageRef: string): Promise<void>;
}

/**
 * A channel whose cards never leave Vigil (the log of an install with no chat platform). Nothing
 * can fail or be lost on the way, so its cards need no claim: a notify job records all of its
 * cards as rendered in one statement and then tells `shown` of each card it wrote.
 */
export interface LocalChannel extends ChannelBase {
  readonly local: true;
  shown(alert: CardAlert, target: string, kind: 'post' | 'update'): void;
}

/** What the pipeline tells an adapter about a card it asks to post. */
export interface PostAttempt {
  /** The card's ID: adapters carry it in the message so a post whose answer was lost can be found. */
  readonly cardId: string;
  /**
   * Set when an earlier attempt may have posted this card without its answer being recorded (a
   * worker died, or the call failed after sending): look for that message, from this time on,
   * before posting again.
   */
  readonly earlierAttemptAt: Date | null;
  /** To call just before asking the platform to post: notes that a message may exist from now on. */
  readonly sending: () => Promise<void>;
}

/** An action of an investigation as a card shows it, with its approval progress. */
export interface CardAction {
  readonly id: string;
  readonly number: string;
  readonly kind: ActionKind;
  readonly targetDisplay: string;
  readonly reason: string;
  readonly status: ActionStatus;
  readonly approvalsNeeded: number;
  readonly approvals: number;
  /** Why a failed action failed (the executor's answer); null otherwise. */
  readonly error: string | null;
}

/** An investigation of the alert as its card shows it: status, and the actions not yet settled. */
export interface CardInvestigation {
  readonly id: string;
  readonly number: string;
  readonly status: InvestigationStatus;
  /** Actions waiting for approval (with Approve and Reject on the card), running, or just failed. */
  readonly actions: readonly CardAction[];
}

/** The Defender incident an alert belongs to, as its card shows it: name, size and how far along. */
export interface CardIncident {
  readonly id: string;
  readonly name: string;
  readonly alertCount: number;
  readonly alertStatuses: Readonly<Record<AlertStatus, number>>;
  readonly status: AlertStatus;
}

/** What a card shows: the alert with its short number, and its investigations and incident where loaded. */
export type CardAlert = Alert & {
  readonly number: string;
  readonly investigations?: readonly CardInvestigation[];
  readonly incident?: CardIncident | null;
};

/**
 * A chat failure that retrying will not cure (`channel_not_found`, `not_in_channel`,
 * `invalid_auth`, a Teams 403): recorded on the card and in the logs, never retried.
 */
export class PermanentChatError extends Error {
  readonly code = 'chat.permanent_failure';
  constructor(
    readonly platformError: string,
    options?: { cause?: unknown },
  ) {
    super(`chat platform refused permanently: ${platformError}`, options);
  }
}

/** The platform asked us to slow down; the job is retried after `retryAfterMs`, losing nothing. */
export class ChatRateLimitedError extends Error {
  readonly code = 'chat.rate_limited';
  constructor(
    readonly retryAfterMs: number,
    options?: { cause?: unknown },
  ) {
    super(`chat platform rate limited us; retry after ${retryAfterMs} ms`, options);
  }
}
