import { type ActingPerson, ok, type PolicySpec, type Result } from '../../domain/index.js';
import { savePolicy as save } from '../../storage/policy.repository.js';
import { type CommandDeps, permit } from './command.js';

/**
 * Creates, replaces (`spec`) or deletes (`spec: null`) the policy `name`: admins only. Versioned
 * and audited by the repository.
 */
export async function savePolicy(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly name: string; readonly spec: PolicySpec | null },
): Promise<Result<Awaited<ReturnType<typeof save>>>> {
  const allowed = await permit(deps, person, 'admin.manage', {
    alertId: null,
    action: 'policy.refused',
    details: { name: command.name },
  });
  if (!allowed.ok) return allowed;
  return ok(await save(deps.handle, command.spec, command.name, person.actor, deps.clock.now()));
}
