import { entityKey } from '../alert/entity-key.js';
import type { InvestigationEntity, InvestigationEntityKind } from '../investigation/investigation.js';
import type { AutomationLevel } from '../investigation/rule.js';

/** Remediation actions Vigil can take, each on one target. */
export const ACTION_KINDS = [
  'disable_user',
  'revoke_sessions',
  'isolate_device',
  'quarantine_file',
  'block_indicator',
  'revoke_oauth_consent',
] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

export const ACTION_LABELS: Readonly<Record<ActionKind, string>> = {
  disable_user: 'Disable user',
  revoke_sessions: 'Revoke sessions',
  isolate_device: 'Isolate device',
  quarantine_file: 'Quarantine file',
  block_indicator: 'Block indicator',
  revoke_oauth_consent: 'Revoke OAuth consent',
};

export const ACTION_STATUSES = [
  'pending_approval',
  'approved',
  'rejected',
  'running',
  'done',
  'failed',
  'cancelled',
] as const;
export type ActionStatus = (typeof ACTION_STATUSES)[number];

/**
 * The action lifecycle as data. A failed execution is final: propose again to retry by hand.
 * Terminating the investigation cancels what has not started; a running call cannot be taken back.
 */
export const ACTION_TRANSITIONS = {
  pending_approval: ['approved', 'rejected', 'cancelled'],
  approved: ['running', 'cancelled'],
  running: ['done', 'failed'],
  rejected: [],
  done: [],
  failed: [],
  cancelled: [],
} as const satisfies Record<ActionStatus, readonly ActionStatus[]>;

export const canMoveAction = (from: ActionStatus, to: ActionStatus): boolean =>
  (ACTION_TRANSITIONS[from] as readonly ActionStatus[]).includes(to);

/** Statuses an action can be cancelled from: it has not started running. */
export const CANCELLABLE_ACTION_STATUSES = (Object.keys(ACTION_TRANSITIONS) as ActionStatus[]).filter(
  (status) => canMoveAction(status, 'cancelled'),
);

/** What an action acts on. */
export interface ActionTarget {
  readonly kind: InvestigationEntityKind;
  readonly key: string;
  readonly displayName: string;
  /** How many things it reaches (a device group, a tenant-wide block); 1 for one entity. */
  readonly count: number;
  /** A privileged account (admin roles): disabling it by mistake hurts most. */
  readonly privileged: boolean;
}

/** A remediation the investigation proposes, with why and the evidence for it. */
export interface ProposedAction {
  readonly kind: ActionKind;
  readonly target: ActionTarget;
  readonly reason: string;
  readonly evidence: Readonly<Record<string, unknown>>;
}

/**
 * What makes an action high-impact, needing two different approvers.
 */
export interface ApprovalPolicy {
  /** An action reaching more than this many targets is high-impact. @defaultValue 50 */
  readonly maxTargets: number;
  /** User keys (UPNs) that are privileged whatever the alert says; compared as `entityKey` does. */
  readonly privilegedUsers: readonly string[];
}

export const DEFAULT_APPROVAL_POLICY: ApprovalPolicy = { maxTargets: 50, privilegedUsers: [] };

export function isHighImpact(action: Pick<ProposedAction, 'target'>, policy: ApprovalPolicy): boolean {
  return (
    action.target.count > policy.maxTargets ||
    action.target.privileged ||
    (action.target.kind === 'user' &&
      policy.privilegedUsers.some((user) => entityKey('user', user) === entityKey('user', action.target.key)))
  );
}

/** Approvals an action needs before it runs. */
export const approvalsNeeded = (action: Pick<ProposedAction, 'target'>, policy: ApprovalPolicy): number =>
  isHighImpact(action, policy) ? 2 : 1;

/** An entity as an action's target: how many things it reaches, and whether it is privileged. */
export const targetOf = (
  entity: Pick<InvestigationEntity, 'kind' | 'key' | 'displayName' | 'attributes'>,
): ActionTarget => {
  const count = Number(entity.attributes.deviceCount ?? entity.attributes.targetCount ?? 1);
  const roles = entity.attributes.roles;
  return {
    kind: entity.kind,
    key: entity.key,
    displayName: entity.displayName,
    count: Number.isFinite(count) && count > 0 ? count : 1,
    privileged:
      entity.attributes.privileged === true ||
      entity.attributes.isAdmin === true ||
      (Array.isArray(roles) && roles.some((role) => /admin|privileged/i.test(String(role)))),
  };
};

/**
 * Which remediations fit the entities' verdicts:
 * a malicious user is signed out and disabled, a suspicious one signed out; a malicious device
 * is isolated; a malicious file quarantined and its hash blocked; a malicious IP or URL blocked;
 * a risky OAuth app loses its consent. Clean and unknown entities get nothing.
 */
export function proposeActions(entities: readonly InvestigationEntity[]): ProposedAction[] {
  const proposals: ProposedAction[] = [];
  for (const entity of entities) {
    const add = (kind: ActionKind) =>
      proposals.push({
        kind,
        target: targetOf(entity),
        reason: `${entity.displayName} is ${entity.verdict}: ${entity.why}`,
        evidence: {
          entity: { kind: entity.kind, key: entity.key },
          verdict: entity.verdict,
          why: entity.why,
        },
      });
    const malicious = entity.verdict === 'malicious';
    const suspicious = entity.verdict === 'suspicious';
    switch (entity.kind) {
      case 'user':
        if (malicious || suspicious) add('revoke_sessions');
        if (malicious) add('disable_user');
        break;
      case 'device':
        if (malicious) add('isolate_device');
        break;
      case 'file':
        if (malicious) {
          add('quarantine_file');
          add('block_indicator');
        }
        break;
      case 'ip':
      case 'url':
        if (malicious) add('block_indicator');
        break;
      case 'app':
        if (malicious || suspicious) add('revoke_oauth_consent');
        break;
      case 'process':
      case 'mailbox':
        break;
    }
  }
  return proposals;
}

/**
 * The status a proposal starts in under the rule's automation level: `full` approves by policy
 * unless the action is high-impact (two people must agree on those, always); `semi` waits;
 * `none` proposes nothing (null: keep it as a recommendation).
 */
export function initialActionStatus(
  automation: AutomationLevel,
  action: Pick<ProposedAction, 'target'>,
  policy: ApprovalPolicy,
): 'approved' | 'pending_approval' | null {
  if (automation === 'none') return null;
  if (automation === 'full' && !isHighImpact(action, policy)) return 'approved';
  return 'pending_approval';
}
