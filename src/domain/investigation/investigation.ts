import type { Actor } from '../actor.js';
import type { EntityKind } from '../alert/alert.js';
import { fail, ok, type Result } from '../result.js';
import { authorize, type Role } from '../roles.js';
import { InvestigationErrorCode } from './investigation.errors.js';

/** The statuses users see on an investigation (DESIGN.md, "Words users see"). */
export const INVESTIGATION_STATUSES = [
  'queued',
  'running',
  'pending_approval',
  'remediated',
  'partially_remediated',
  'no_threats_found',
  'failed',
  'terminated',
] as const;
export type InvestigationStatus = (typeof INVESTIGATION_STATUSES)[number];

export const INVESTIGATION_STATUS_LABELS: Readonly<Record<InvestigationStatus, string>> = {
  queued: 'Queued',
  running: 'Running',
  pending_approval: 'Pending approval',
  remediated: 'Remediated',
  partially_remediated: 'Partially remediated',
  no_threats_found: 'No threats found',
  failed: 'Failed',
  terminated: 'Terminated',
};

/** Statuses in which an investigation still works, and so may grow its scope. */
export const OPEN_INVESTIGATION_STATUSES = ['queued', 'running', 'pending_approval'] as const;

/**
 * The lifecycle as data: where each status may go. An open investigation may go back to running
 * when its scope grows (a related alert joined) or an approved action runs; the outcomes are final.
 */
export const INVESTIGATION_TRANSITIONS = {
  queued: ['running', 'failed', 'terminated'],
  running: [
    'pending_approval',
    'remediated',
    'partially_remediated',
    'no_threats_found',
    'failed',
    'terminated',
  ],
  pending_approval: [
    'running',
    'remediated',
    'partially_remediated',
    'no_threats_found',
    'failed',
    'terminated',
  ],
  remediated: [],
  partially_remediated: [],
  no_threats_found: [],
  failed: [],
  terminated: [],
} as const satisfies Record<InvestigationStatus, readonly InvestigationStatus[]>;

export const isOpenInvestigation = (status: InvestigationStatus): boolean =>
  (OPEN_INVESTIGATION_STATUSES as readonly InvestigationStatus[]).includes(status);

/** Checks one move against the table; staying where it is is always allowed (re-runs are harmless). */
export function moveInvestigation(
  from: InvestigationStatus,
  to: InvestigationStatus,
): Result<InvestigationStatus> {
  if (from === to) return ok(to);
  const allowed: readonly InvestigationStatus[] = INVESTIGATION_TRANSITIONS[from];
  if (!allowed.includes(to)) {
    return fail(
      InvestigationErrorCode.TransitionNotAllowed,
      `An investigation that is ${INVESTIGATION_STATUS_LABELS[from]} cannot become ${INVESTIGATION_STATUS_LABELS[to]}.`,
      { from, to },
    );
  }
  return ok(to);
}

/**
 * Terminating: an approver stops an open investigation for good (the caller cancels its actions
 * that have not started). Terminating a terminated one again changes nothing (a double click); a
 * finished investigation cannot be terminated.
 */
export function terminate(status: InvestigationStatus, role: Role): Result<{ readonly changed: boolean }> {
  const allowed = authorize(role, 'investigation.terminate');
  if (!allowed.ok) return allowed;
  if (status === 'terminated') return ok({ changed: false });
  const moved = moveInvestigation(status, 'terminated');
  if (!moved.ok) return moved;
  return ok({ changed: true });
}

/** What an investigation looks at (Microsoft's AIR: users, machines, apps, files, processes, IPs, URLs, mailboxes). */
export const INVESTIGATION_ENTITY_KINDS = [
  'user',
  'device',
  'app',
  'file',
  'process',
  'ip',
  'url',
  'mailbox',
] as const;
export type InvestigationEntityKind = (typeof INVESTIGATION_ENTITY_KINDS)[number];

/** How an alert's entity kind is seen by investigations; kinds not listed are not investigated. */
export const INVESTIGATION_KIND_OF: Readonly<Partial<Record<EntityKind, InvestigationEntityKind>>> = {
  user: 'user',
  device: 'device',
  oauth_application: 'app',
  cloud_application: 'app',
  file: 'file',
  process: 'process',
  ip: 'ip',
  url: 'url',
  mailbox: 'mailbox',
};

/** A determination about one entity. */
export const VERDICTS = ['unknown', 'clean', 'suspicious', 'malicious'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** The more serious of two verdicts; a clean answer still outranks knowing nothing. */
export const worseVerdict = (a: Verdict, b: Verdict): Verdict =>
  VERDICTS.indexOf(a) >= VERDICTS.indexOf(b) ? a : b;

export const isThreat = (verdict: Verdict): boolean => verdict === 'suspicious' || verdict === 'malicious';

/** An entity within an investigation, with its verdict and why it was given. */
export interface InvestigationEntity {
  readonly kind: InvestigationEntityKind;
  /** Stable identity within its kind, as on the alert (UPN, device ID, SHA-256, app ID...). */
  readonly key: string;
  readonly displayName: string;
  readonly verdict: Verdict;
  /** The reason for the verdict, for people; empty while unknown. */
  readonly why: string;
  /** What the alert and enrichment said about it (privileged, deviceCount, publisher...). */
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** A verdict one enrichment step gives about one entity. */
export interface EntityVerdict {
  readonly kind: InvestigationEntityKind;
  readonly key: string;
  readonly verdict: Verdict;
  readonly why: string;
  readonly attributes?: Readonly<Record<string, unknown>>;
}

/** Merges a step's verdict into the entity: the worse verdict and its reason win. */
export function mergeVerdict(entity: InvestigationEntity, update: EntityVerdict): InvestigationEntity {
  const verdict = worseVerdict(entity.verdict, update.verdict);
  return {
    ...entity,
    verdict,
    why: verdict === entity.verdict && entity.why !== '' ? entity.why : update.why,
    attributes: { ...entity.attributes, ...update.attributes },
  };
}

/** A key finding: something the investigation learned that a person should read. */
export interface Finding {
  /** Unique within its step (so a re-run step writes it once). */
  readonly key: string;
  readonly title: string;
  readonly verdict: Verdict;
  readonly entity: { readonly kind: InvestigationEntityKind; readonly key: string } | null;
  readonly details: Readonly<Record<string, unknown>>;
}

export const STEP_OUTCOMES = ['succeeded', 'failed'] as const;
export type StepOutcome = (typeof STEP_OUTCOMES)[number];

/** One line of an investigation's log: a playbook step that ran, once per scope round. */
export interface StepLogEntry {
  readonly stepKey: string;
  readonly provider: string;
  /** Which scope round the step ran for: a related alert joining starts a new round. */
  readonly attemptScope: string;
  readonly startedAt: Date;
  readonly endedAt: Date;
  readonly outcome: StepOutcome;
  readonly error: string | null;
}

/** The scope key a step runs under: steps re-run when the scope grows, never twice per round. */
export const attemptScope = (round: number): string => `round-${round}`;

/** An investigation as the domain sees it. */
export interface Investigation {
  readonly id: string;
  readonly number: string;
  readonly status: InvestigationStatus;
  readonly triggerAlertId: string;
  readonly ruleId: string | null;
  readonly startedBy: Actor;
  readonly scopeRound: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What the final status is derived from, once the playbook's steps have run. */
export interface OutcomeInput {
  /** Every step of the current scope round has a logged result. */
  readonly stepsComplete: boolean;
  /** Steps that ran, and how many failed. */
  readonly stepCount: number;
  readonly failedSteps: number;
  /** An entity is suspicious or malicious. */
  readonly threatsFound: boolean;
  /** The statuses of the investigation's remediation actions. */
  readonly actionStatuses: readonly string[];
  /** Steps of an auto-remediating policy that found no target, so have no action. @defaultValue 0 */
  readonly untargetedSteps?: number;
}

/**
 * The investigation's status from its results (the truth table is unit-tested):
 * - steps still to run, or actions approved or running: running;
 * - every step failed: failed (the investigation learned nothing);
 * - any action waiting for a person: pending approval;
 * - no threat and no action: no threats found;
 * - every action done: remediated; some done: partially remediated;
 * - none done but an execution failed: failed; the rest (rejected, recommendations only):
 *   partially remediated, since threats were found and not all of them were dealt with;
 * - a policy's steps that found no target count as not done: with nothing done at all, failed.
 */
export function deriveStatus(input: OutcomeInput): InvestigationStatus {
  const actions = input.actionStatuses;
  if (!input.stepsComplete) return 'running';
  if (input.stepCount > 0 && input.failedSteps === input.stepCount) return 'failed';
  if (actions.includes('pending_approval')) return 'pending_approval';
  if (actions.some((status) => status === 'approved' || status === 'running')) return 'running';
  const untargeted = input.untargetedSteps ?? 0;
  if (actions.length === 0 && untargeted > 0) return 'failed';
  if (actions.length === 0) return input.threatsFound ? 'partially_remediated' : 'no_threats_found';
  // Every action has settled: done, failed, rejected or cancelled.
  const done = actions.filter((status) => status === 'done').length;
  if (done === actions.length && untargeted === 0) return 'remediated';
  if (done > 0) return 'partially_remediated';
  if (actions.includes('failed')) return 'failed';
  return 'partially_remediated';
}
