import type { WebClient } from '@slack/web-api';
import { identify } from '../../app/identity.js';
import type { ActingPerson, Actor, Clock, Result } from '../../domain/index.js';
import type { Logger } from '../../logger.js';
import type { DbHandle } from '../../storage/db.js';
import type { RolePolicy } from '../../storage/person.repository.js';
import type { RenderOptions } from './render.js';

/** What Slack's listeners need: storage, the clock, the Web API client and the role policy. */
export interface SlackContext {
  readonly handle: DbHandle;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly client: WebClient;
  readonly roles: RolePolicy;
  readonly render: RenderOptions;
}

export type SlackUser = Extract<Actor, { kind: 'user' }>;

/** The Slack user behind a payload, with their workspace: the identity `slack:<team>:<user>`. */
export function slackUser(user: {
  id: string;
  name?: string | undefined;
  username?: string | undefined;
  team_id?: string | undefined;
}): SlackUser {
  const name = user.name ?? user.username;
  return {
    kind: 'user',
    platform: 'slack',
    id: user.id,
    ...(name === undefined || name === '' ? {} : { name }),
    ...(user.team_id === undefined || user.team_id === '' ? {} : { tenant: user.team_id }),
  };
}

/**
 * The Vigil person behind a Slack user (one query); a disabled person or an unlinked identity is
 * refused. A user met for the first time gets their e-mail looked up by a job, after this answer.
 */
export const slackPerson = (context: SlackContext, actor: SlackUser): Promise<Result<ActingPerson>> =>
  identify(context.handle.db, actor, context.roles, {});
