import type { ActingPerson, Result } from '../../domain/index.js';
import {
  type StartedInvestigation,
  startInvestigation as start,
} from '../../storage/investigation-plan.repository.js';
import { type CommandDeps, permit } from './command.js';

/** Investigate an alert by hand: responders and up. Whoever starts it requested its actions. */
export async function startInvestigation(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly alertId: string },
): Promise<Result<StartedInvestigation>> {
  const allowed = await permit(deps, person, 'alert.investigate', {
    alertId: command.alertId,
    action: 'alert.investigate_refused',
  });
  if (!allowed.ok) return allowed;
  return start(deps.handle, command.alertId, person.actor, deps.clock);
}
