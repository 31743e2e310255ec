import type { WebClient } from '@slack/web-api';
import { AUTO_LINK_REFUSALS, type SlackUserInfo, slackDirectoryEntry } from '../../domain/index.js';
import type { IdentityDirectory } from '../../jobs/identity-lookup.worker.js';

/**
 * Slack users' e-mails for automatic linking: `users.info` (the address needs `users:read.email`),
 * judged against the workspace the bot token belongs to (`auth.test`, asked once per process).
 */
export function slackDirectory(client: WebClient): IdentityDirectory {
  let home: Promise<string> | null = null;
  const homeTeam = (): Promise<string> => {
    home ??= client.auth.test().then(
      (answer) => String(answer.team_id ?? ''),
      (error: unknown) => {
        home = null;
        throw error;
      },
    );
    return home;
  };
  return {
    platform: 'slack',
    lookup: async (userId) => {
      const team = await homeTeam();
      try {
        const answer = await client.users.info({ user: userId });
        return slackDirectoryEntry((answer.user ?? {}) as SlackUserInfo, team);
      } catch (error) {
        // Deleted from Slack since: nobody to link; anything else is retried by the job.
        if ((error as { data?: { error?: string } }).data?.error === 'user_not_found')
          return { email: null, verified: false, refusal: AUTO_LINK_REFUSALS.notPerson };
        throw error;
      }
    },
  };
}
