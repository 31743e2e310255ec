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
 * How reminders, overdue and completion notices reach people. The log implementation stands in
 * until the Slack and Teams adapters implement it; a notice may be delivered more than once
 * (jobs are at least once), so implementations should tolerate repeats.
 */
export interface RemediationNotifier {
  readonly platform: string;
  notify(notice: RemediationNotice): Promise<void>;
}
