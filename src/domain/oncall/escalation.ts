import type { AlertStatus } from '../alert/alert.js';
import type { OnCallPerson } from './schedule.js';

/** Whom one level notifies: whoever is on call in a schedule, or a named person. */
export type EscalationTarget =
  | { readonly type: 'schedule'; readonly schedule: string }
  | { readonly type: 'person'; readonly person: OnCallPerson };

export interface EscalationLevel {
  readonly targets: readonly EscalationTarget[];
  /** Minutes to wait for an acknowledgement before the next level. */
  readonly waitMinutes: number;
}

/**
 * Levels notified one after another until someone acknowledges (Mark in progress or Resolve on
 * any card); after the last level the whole sequence starts again, `repeat` more times.
 */
export interface EscalationPolicySpec {
  readonly name: string;
  readonly levels: readonly EscalationLevel[];
  readonly repeat: number;
}

export interface EscalationPolicy extends EscalationPolicySpec {
  readonly id: string;
  readonly version: number;
}

/** A page's states: open while escalating; acknowledged or exhausted when it stopped. */
export const PAGE_STATES = ['open', 'acknowledged', 'exhausted', 'cancelled'] as const;
export type PageState = (typeof PAGE_STATES)[number];

/** How many steps a page runs at most: every level, `repeat + 1` times. */
export const totalSteps = (policy: EscalationPolicySpec): number =>
  policy.levels.length * (policy.repeat + 1);

/** The level a step notifies (steps count from 0 through every repeat). */
export function levelOf(
  policy: EscalationPolicySpec,
  stepNo: number,
): { index: number; level: EscalationLevel } | null {
  if (stepNo < 0 || stepNo >= totalSteps(policy)) return null;
  const index = stepNo % policy.levels.length;
  const level = policy.levels[index];
  return level === undefined ? null : { index, level };
}

/** When the step after `stepNo` is due, or null when `stepNo` was the last. */
export function nextStepDue(
  policy: EscalationPolicySpec,
  stepNo: number,
  ranAt: Date,
): { stepNo: number; dueAt: Date } | null {
  const current = levelOf(policy, stepNo);
  if (current === null || stepNo + 1 >= totalSteps(policy)) return null;
  return { stepNo: stepNo + 1, dueAt: new Date(ranAt.getTime() + current.level.waitMinutes * 60_000) };
}

/** An alert a person has taken (in progress) or closed stops its pages. */
export const acknowledges = (status: AlertStatus): boolean =>
  status === 'in_progress' || status === 'resolved';

/** What a step decides to do, given the page and its alert as they are now. */
export type StepDecision =
  | { readonly kind: 'stop'; readonly state: Exclude<PageState, 'open'>; readonly reason: string }
  | { readonly kind: 'notify'; readonly levelIndex: number; readonly level: EscalationLevel };

export function decideStep(
  page: { readonly state: PageState; readonly policy: EscalationPolicySpec },
  alertStatus: AlertStatus,
  stepNo: number,
): StepDecision {
  if (page.state !== 'open') return { kind: 'stop', state: page.state, reason: `page already ${page.state}` };
  if (acknowledges(alertStatus)) {
    return { kind: 'stop', state: 'acknowledged', reason: `alert is ${alertStatus.replace('_', ' ')}` };
  }
  const level = levelOf(page.policy, stepNo);
  if (level === null) return { kind: 'stop', state: 'exhausted', reason: 'no more levels' };
  return { kind: 'notify', levelIndex: level.index, level: level.level };
}

/** The message an escalation step sends by direct message; plain text, readable on both platforms. */
export function pageText(
  alert: { number: string; title: string; severity: string },
  step: { levelIndex: number; policy: string },
  link: string | null,
): string {
  return [
    `You are being paged for alert #${alert.number} (${alert.severity}): ${alert.title}`,
    `Escalation policy ${step.policy}, level ${step.levelIndex + 1}. Mark it in progress or resolve it to stop the paging.`,
    ...(link === null ? [] : [link]),
  ].join('\n');
}

/**
 * A way to reach one person directly (a Slack DM, a Teams personal chat). Each chat adapter that
 * can do so provides one; `no_identity` means this person has no identity (or no stored chat) here.
 */
export interface DirectMessenger {
  readonly platform: string;
  send(person: OnCallPerson, text: string): Promise<'sent' | 'no_identity'>;
}
