import type { ActingPerson, Actor, Result } from '../../domain/index.js';
import { type AlertChangeOutcome, changeAlert } from '../../storage/alert.repository.js';
import { type CommandDeps, permit } from './command.js';

export interface AssignAlert {
  readonly alertId: string;
  readonly assignee: Actor;
  readonly expectedVersion?: number | undefined;
}

/** Assign (Assign to me): responders and up. */
export async function assignAlert(
  deps: CommandDeps,
  person: ActingPerson,
  command: AssignAlert,
): Promise<Result<AlertChangeOutcome>> {
  const allowed = await permit(deps, person, 'alert.assign', {
    alertId: command.alertId,
    action: 'alert.change_refused',
    details: { change: { type: 'assign' } },
  });
  if (!allowed.ok) return allowed;
  return changeAlert(deps.handle, command.alertId, person.actor, deps.clock, {
    type: 'assign',
    assignee: command.assignee,
    expectedVersion: command.expectedVersion,
  });
}
