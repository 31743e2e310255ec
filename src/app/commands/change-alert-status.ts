import type { ActingPerson, Result, StatusChangeRequest } from '../../domain/index.js';
import { type AlertChangeOutcome, changeAlert } from '../../storage/alert.repository.js';
import { type CommandDeps, permit } from './command.js';

export interface ChangeAlertStatus {
  readonly alertId: string;
  readonly request: StatusChangeRequest;
}

/** Mark in progress, Resolve, Reopen: responders and up; the lifecycle and version check decide the rest. */
export async function changeAlertStatus(
  deps: CommandDeps,
  person: ActingPerson,
  command: ChangeAlertStatus,
): Promise<Result<AlertChangeOutcome>> {
  const allowed = await permit(deps, person, 'alert.change_status', {
    alertId: command.alertId,
    action: 'alert.change_refused',
    details: { change: { type: 'status', action: command.request.action } },
  });
  if (!allowed.ok) return allowed;
  return changeAlert(deps.handle, command.alertId, person.actor, deps.clock, {
    type: 'status',
    request: command.request,
  });
}
