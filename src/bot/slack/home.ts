import type { App } from '@slack/bolt';
import { openAlertsAssignedTo, openAlertsCardedIn } from '../../storage/slack-route.repository.js';
import { waitingForMeBlocks } from './approvals.js';
import { type SlackContext, slackUser } from './context.js';
import { renderHome } from './render.js';

/**
 * The channels a person is in, to show only the alerts of their channels; null (all channels)
 * when Slack will not say (the app lacks the read scopes, or the call fails).
 */
async function channelsOf(context: SlackContext, userId: string): Promise<string[] | null> {
  try {
    const channels: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await context.client.users.conversations({
        user: userId,
        types: 'public_channel,private_channel',
        exclude_archived: true,
        limit: 200,
        ...(cursor === undefined ? {} : { cursor }),
      });
      for (const channel of page.channels ?? []) if (channel.id !== undefined) channels.push(channel.id);
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor !== undefined && channels.length < 2000);
    return channels;
  } catch (error) {
    context.logger.debug({ err: error }, 'users.conversations failed; App Home shows every channel');
    return null;
  }
}

/** App Home: the alerts assigned to me, then the open alerts of my channels, most severe first. */
export function registerHome(app: App, context: SlackContext): void {
  app.event('app_home_opened', async ({ event, body }) => {
    if (event.tab !== 'home') return;
    const [mine, channels, waiting] = await Promise.all([
      openAlertsAssignedTo(context.handle.db, event.user, 20),
      channelsOf(context, event.user),
      waitingForMeBlocks(context, slackUser({ id: event.user, team_id: body.team_id })),
    ]);
    const open = await openAlertsCardedIn(context.handle.db, channels, 30);
    await context.client.views.publish({
      user_id: event.user,
      view: renderHome(mine, open, context.render, waiting) as never,
    });
  });
}
