import { type ActingPerson, fail, ok, type Result } from '../../domain/index.js';
import {
  addRule,
  addWatch,
  type RuleInput,
  type RuleView,
  removeRule,
  removeWatch,
  type WatchlistEntry,
} from '../../storage/investigation-config.repository.js';
import { type CommandDeps, permit } from './command.js';

/** Investigation rules and the watchlist are configuration: admins only; a refusal is audited. */
const permitConfig = (
  deps: CommandDeps,
  person: ActingPerson,
  action: 'investigation_rule.refused' | 'watchlist.refused',
  details: Record<string, unknown>,
) => permit(deps, person, 'admin.manage', { alertId: null, action, details });

/** Adds a rule that starts investigations of matching alerts: admins only. */
export async function addInvestigationRule(
  deps: CommandDeps,
  person: ActingPerson,
  rule: RuleInput,
): Promise<Result<RuleView>> {
  const allowed = await permitConfig(deps, person, 'investigation_rule.refused', { name: rule.name });
  if (!allowed.ok) return allowed;
  return ok(await addRule(deps.handle, rule, person.actor, deps.clock));
}

/** Removes an investigation rule: admins only. */
export async function removeInvestigationRule(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly ruleId: string },
): Promise<Result<true>> {
  const allowed = await permitConfig(deps, person, 'investigation_rule.refused', { ruleId: command.ruleId });
  if (!allowed.ok) return allowed;
  return (await removeRule(deps.handle, command.ruleId, person.actor, deps.clock))
    ? ok(true)
    : fail('investigation_rule.not_found', `No investigation rule ${command.ruleId}.`);
}

/** Adds (or re-words) a watchlist indicator: admins only. */
export async function addWatchlistEntry(
  deps: CommandDeps,
  person: ActingPerson,
  entry: Pick<WatchlistEntry, 'kind' | 'value' | 'verdict' | 'reason'>,
): Promise<Result<WatchlistEntry>> {
  const allowed = await permitConfig(deps, person, 'watchlist.refused', {
    kind: entry.kind,
    value: entry.value,
  });
  if (!allowed.ok) return allowed;
  return ok(await addWatch(deps.handle, entry, person.actor, deps.clock));
}

/** Removes a watchlist indicator: admins only. */
export async function removeWatchlistEntry(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly entryId: string },
): Promise<Result<true>> {
  const allowed = await permitConfig(deps, person, 'watchlist.refused', { entryId: command.entryId });
  if (!allowed.ok) return allowed;
  return (await removeWatch(deps.handle, command.entryId, person.actor, deps.clock))
    ? ok(true)
    : fail('watchlist.not_found', `No watchlist entry ${command.entryId}.`);
}
