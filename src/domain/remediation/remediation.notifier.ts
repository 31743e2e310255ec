import type { Actor } from '../actor.js';
import type { Remediation } from './remediation.js';

/** What people are told about a remediation. */
export const REMEDIATION_NOTICE_KINDS = [
  'ticket_opened',
  'ticket_failed',
  'reminder',
  'overdue',
  'completed',
  'exception_filed',
  'exception_expired',
] as const;
export type RemediationNoticeKind = (typeof REMEDIATION_NOTICE_KINDS)[number];

/** One notice: who it is for and the sentence to show; the adapter decides how it looks. */
export interface RemediationNotice {
  readonly kind: RemediationNoticeKind;
  readonly remediation: Remediation & { readonly number: string };
  /** The person who asked for the remediation: told directly (a Slack DM, a Teams 1:1 chat). */
  readonly requester: Actor;
  /** The alert it came from, when any: its routed channel gets the notice too (in the alert's thread). */
  readonly alertId: string | null;
  readonly message: string;
}

/**
 * How remediation notices reach people on one platform. `destinations` names where a notice goes
 * there (the requester's direct message, the thread of each of the alert's cards), each as a
 * stable string; `deliver` sends it to one. The worker records each destination once delivered,
 * so a failure elsewhere (or on another platform) never sends it again. `deliver` throws
 * ChatRateLimitedError to come back later and PermanentChatError when retrying cannot help.
 */
export interface RemediationNotifier {
  readonly platform: string;
  destinations(notice: RemediationNotice): Promise<readonly string[]>;
  /**
   * Sends the notice to one destination. Answers where it was posted when the message offers
   * buttons and `retire` can take them away later; undefined otherwise.
   */
  deliver(notice: RemediationNotice, destination: string): Promise<string | undefined>;
  /**
   * Shows an earlier notice, posted at `messageRef`, again as it reads now: without buttons once
   * its remediation is completed. Platforms that cannot change a posted message leave it out.
   */
  retire?(notice: RemediationNotice, messageRef: string): Promise<void>;
}

/** The text of a notice in chat: the remediation's number, what happened, and where to see it. */
export const noticeText = (notice: RemediationNotice, consoleUrl: string | null): string =>
  `Remediation R-${notice.remediation.number}: ${notice.message}` +
  (consoleUrl === null ? '' : ` (${consoleUrl})`);
