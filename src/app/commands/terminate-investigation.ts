import type { ActingPerson, Result } from '../../domain/index.js';
import { terminateInvestigation as terminate } from '../../storage/investigation-terminate.repository.js';
import type { CommandDeps } from './command.js';

/**
 * Terminates an investigation and cancels its actions not yet started. The permission
 * (`investigation.terminate`) is decided by the domain's `terminate` under the investigation's
 * row lock, with the person's role, and a refusal is audited there.
 */
export function terminateInvestigation(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly investigationId: string },
): Promise<Result<{ readonly changed: boolean; readonly cancelledActions: readonly string[] }>> {
  return terminate(deps.handle, command.investigationId, person.actor, person.role, deps.clock);
}
