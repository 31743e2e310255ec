import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARD_ACTIONS } from '../../src/bot/card-actions.js';
import { FakeBotConnector } from '../fakes/bot-connector.js';
import { FakeSlackApi } from '../fakes/slack-api.js';
import { eventually, startTestVigil, type TestVigil } from '../helpers/harness.js';
import { interactionBody, slackHeaders } from '../helpers/slack-signing.js';

// One Vigil with both platforms on: a click on either must update the card on the other.
const SECRET = 'slack-signing-secret-for-tests';
const SLACK_CHANNEL = 'C0ALERTS';
const SLACK_ADMIN = 'U0ADMIN';
const TEAMS_ADMIN = '7a9b12a6-4f02-43f1-b6f9-fd10e047f903';
const TEAMS_CHANNEL = '19:d441d38c655c47a085215b2726e76927@thread.tacv2';
const BOT = { id: '28:57627569-c120-42a1-9e6f-7cb4b96cc8ef', name: 'Vigil' };

let slack: FakeSlackApi;
let teams: FakeBotConnector;
let vigil: TestVigil;

beforeAll(async () => {
  slack = await new FakeSlackApi().start();
  teams = await new FakeBotConnector().start();
  vigil = await startTestVigil({
    env: {
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.url,
      SLACK_ALERT_CHANNEL: SLACK_CHANNEL,
      VIGIL_TEAMS_DEV: '1',
      VIGIL_ADMINS: `slack:${SLACK_ADMIN},teams:${TEAMS_ADMIN}`,
    },
  });
  const teamsActivity = (body: Record<string, unknown>) =>
    fetch(`${vigil.baseUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        channelId: 'msteams',
        serviceUrl: teams.url,
        recipient: BOT,
        from: { id: '29:adele', name: 'Adele Vance', aadObjectId: TEAMS_ADMIN },
        conversation: { id: TEAMS_CHANNEL, conversationType: 'channel', isGroup: true, tenantId: 'tenant' },
        channelData: { team: { id: 'team' }, channel: { id: TEAMS_CHANNEL }, tenant: { id: 'tenant' } },
        ...body,
      }),
    });
  expect((await teamsActivity({ type: 'conversationUpdate', membersAdded: [{ id: BOT.id }] })).status).toBe(
    200,
  );
  expect(
    (await teamsActivity({ type: 'message', id: '1', text: `<at>${BOT.name}</at> subscribe` })).status,
  ).toBe(200);
});
afterAll(async () => {
  await vigil?.close();
  await teams?.stop();
  await slack?.stop();
});

async function ingestOnBoth(title: string) {
  const response = await vigil.ingest('generic', {
    title,
    severity: 'high',
    source: 'idp',
    id: `${title}-${Math.random()}`,
  });
  const { id } = ((await response.json()) as { alerts: { id: string }[] }).alerts[0] as { id: string };
  const cards = await eventually(
    async () => {
      const rows = await vigil.handle.db.selectFrom('cards').selectAll().where('alert_id', '=', id).execute();
      const slackCard = rows.find((r) => r.platform === 'slack' && r.message_ref !== null);
      const teamsCard = rows.find((r) => r.platform === 'teams' && r.message_ref !== null);
      return slackCard !== undefined && teamsCard !== undefined
        ? { slackTs: slackCard.message_ref as string, teamsId: teamsCard.message_ref as string }
        : undefined;
    },
    15_000,
    'cards on both platforms',
  );
  return { id, ...cards };
}

describe('Slack and Teams together', () => {
  it('a click in Teams updates the Slack card (chat.update)', async () => {
    const alert = await ingestOnBoth('Cross-platform from Teams');
    const invoke = await fetch(`${vigil.baseUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'invoke',
        name: 'adaptiveCard/action',
        channelId: 'msteams',
        serviceUrl: teams.url,
        from: { id: '29:adele', name: 'Adele Vance', aadObjectId: TEAMS_ADMIN },
        recipient: BOT,
        conversation: { id: TEAMS_CHANNEL, conversationType: 'channel', tenantId: 'tenant' },
        value: {
          action: {
            type: 'Action.Execute',
            verb: CARD_ACTIONS.startProgress,
            data: { alertId: alert.id, version: 1 },
          },
        },
      }),
    });
    expect(invoke.status).toBe(200);
    const update = await eventually(
      async () =>
        slack
          .callsOf('chat.update')
          .find(
            (call) => call.args.ts === alert.slackTs && JSON.stringify(call.args).includes('In progress'),
          ),
      15_000,
      'chat.update on Slack',
    );
    expect(update.args.channel).toBe(SLACK_CHANNEL);
    expect(JSON.stringify(update.args)).toContain('Adele Vance');
  });

  it('a click in Slack updates the Teams card (PUT activity)', async () => {
    const alert = await ingestOnBoth('Cross-platform from Slack');
    const body = interactionBody({
      type: 'block_actions',
      user: { id: SLACK_ADMIN, username: 'admin', name: 'admin', team_id: 'T0TEAM' },
      api_app_id: 'A0VIGIL',
      token: 'verification_token',
      container: {
        type: 'message',
        message_ts: alert.slackTs,
        channel_id: SLACK_CHANNEL,
        is_ephemeral: false,
      },
      trigger_id: 'trigger-1',
      team: { id: 'T0TEAM', domain: 'example' },
      channel: { id: SLACK_CHANNEL, name: 'alerts' },
      response_url: `${slack.url}response`,
      actions: [
        {
          action_id: CARD_ACTIONS.startProgress,
          block_id: 'alert:x',
          text: { type: 'plain_text', text: 'Mark in progress', emoji: true },
          value: `${alert.id}:1`,
          type: 'button',
          action_ts: '1700000002.000002',
        },
      ],
    });
    const response = await fetch(`${vigil.baseUrl}/slack/events`, {
      method: 'POST',
      headers: slackHeaders(SECRET, body, 'application/x-www-form-urlencoded'),
      body,
    });
    expect(response.status).toBe(200);
    const put = await eventually(
      async () =>
        teams
          .updates(TEAMS_CHANNEL)
          .find(
            (call) => call.activityId === alert.teamsId && JSON.stringify(call.body).includes('In progress'),
          ),
      15_000,
      'PUT on the Teams connector',
    );
    expect(JSON.stringify(put.body)).toContain('application/vnd.microsoft.card.adaptive');
  });
});
