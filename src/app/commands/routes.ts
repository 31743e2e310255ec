import { type ActingPerson, fail, ok, type Result } from '../../domain/index.js';
import {
  addRoute as add,
  type ChatRoute,
  type NewRoute,
  removeRoute as remove,
} from '../../storage/slack-route.repository.js';
import { type CommandDeps, permit } from './command.js';

/** Sends matching alerts to a Slack channel: admins only. */
export async function addRoute(
  deps: CommandDeps,
  person: ActingPerson,
  command: NewRoute,
): Promise<Result<ChatRoute>> {
  const allowed = await permit(deps, person, 'admin.manage', {
    alertId: null,
    action: 'route.refused',
    details: { channel: command.channel },
  });
  if (!allowed.ok) return allowed;
  return ok(await add(deps.handle.db, command, person.actor));
}

/** Removes a route: admins only. */
export async function removeRoute(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly routeId: string },
): Promise<Result<true>> {
  const allowed = await permit(deps, person, 'admin.manage', {
    alertId: null,
    action: 'route.refused',
    details: { routeId: command.routeId },
  });
  if (!allowed.ok) return allowed;
  return (await remove(deps.handle.db, command.routeId))
    ? ok(true)
    : fail('route.not_found', `No route ${command.routeId}.`);
}
