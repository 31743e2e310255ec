import {
  type ActingPerson,
  ApprovalErrorCode,
  authorize,
  type Decision,
  fail,
  type Result,
} from '../../domain/index.js';
import { appendAudit } from '../../storage/audit.repository.js';
import {
  type ActionView,
  getAction,
  decideAction as recordDecision,
} from '../../storage/investigation-action.repository.js';
import type { CommandDeps } from './command.js';

export interface DecideAction {
  readonly actionId: string;
  readonly decision: Decision;
  readonly reason?: string | undefined;
}

/**
 * Approve or Reject a remediation action: approvers and admins only. Then, under the action's
 * row lock, the approval rules compare people (`person:<id>`), never identities or surfaces: the
 * requester cannot approve, one person decides once, a high-impact action needs two people.
 */
export async function decideAction(
  deps: CommandDeps,
  person: ActingPerson,
  command: DecideAction,
): Promise<Result<ActionView>> {
  const allowed = authorize(person.role, 'action.decide');
  if (!allowed.ok) {
    const action = await getAction(deps.handle.db, command.actionId);
    if (action === null) return fail(ApprovalErrorCode.NotFound, `No action ${command.actionId}.`);
    await appendAudit(deps.handle.db, [
      {
        alertId: action.alertId,
        actor: person.actor,
        action: 'action.decision_refused',
        details: {
          investigationId: action.investigationId,
          actionId: action.id,
          decision: command.decision,
          code: ApprovalErrorCode.NotApprover,
          reason: allowed.error.message,
          role: person.role,
        },
        at: deps.clock.now(),
      },
    ]);
    return fail(ApprovalErrorCode.NotApprover, allowed.error.message, allowed.error.details);
  }
  return recordDecision(
    deps.handle,
    command.actionId,
    person.actor,
    command.decision,
    command.reason,
    deps.clock,
  );
}
