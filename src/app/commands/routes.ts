import { type ActingPerson, actorKey, fail, ok, type Result } from '../../domain/index.js';
import {
  addRoute as add,
  type ChatRoute,
  type NewRoute,
  removeRoute as remove,
} from '../../storage/slack-route.repository.js';
import {
  subscribeTeamsConversation,
  type TeamsSubscription,
  unsubscribeTeamsConversation,
} from '../../storage/teams-conversation.repository.js';
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

/** Posts matching alerts in a Teams conversation (`subscribe` there): admins only. */
export async function subscribeConversation(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly conversationId: string; readonly subscription: TeamsSubscription },
): Promise<Result<true>> {
  const allowed = await permit(deps, person, 'admin.manage', {
    alertId: null,
    action: 'route.refused',
    details: { conversationId: command.conversationId },
  });
  if (!allowed.ok) return allowed;
  await subscribeTeamsConversation(
    deps.handle.db,
    command.conversationId,
    command.subscription,
    actorKey(person.actor),
  );
  return ok(true);
}

/** Stops posting alerts in a Teams conversation: admins only; false when it was not subscribed. */
export async function unsubscribeConversation(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly conversationId: string },
): Promise<Result<boolean>> {
  const allowed = await permit(deps, person, 'admin.manage', {
    alertId: null,
    action: 'route.refused',
    details: { conversationId: command.conversationId },
  });
  if (!allowed.ok) return allowed;
  return ok(await unsubscribeTeamsConversation(deps.handle.db, command.conversationId));
}
