import type { WebClient } from '@slack/web-api';
import type { Actor, Clock } from '../../domain/index.js';
import type { Logger } from '../../logger.js';
import type { DbHandle } from '../../storage/db.js';
import type { RolePolicy } from '../../storage/people.repository.js';
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

/** The person behind a Slack payload, as the audit trail names them. */
export function slackUser(user: {
  id: string;
  name?: string | undefined;
  username?: string | undefined;
}): SlackUser {
  const name = user.name ?? user.username;
  return {
    kind: 'user',
    platform: 'slack',
    id: user.id,
    ...(name === undefined || name === '' ? {} : { name }),
  };
}
