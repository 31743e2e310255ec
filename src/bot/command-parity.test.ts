import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBotConnector } from '../../test/fakes/bot-connector.js';
import { FakeSlackApi } from '../../test/fakes/slack-api.js';
import { eventually, startTestVigil, type TestVigil } from '../../test/helpers/harness.js';
import { commandBody, postSignedForm, slackTestEnv } from '../../test/helpers/slack-signing.js';
import { sayOnTeams } from '../../test/helpers/teams-chat.js';
import { parseCommand, HELP_TEXT as SLACK_HELP, type VigilCommand } from './command-parser.js';
import { HELP_TEXT as TEAMS_HELP } from './teams/handlers.js';

// Both platforms offer the same commands: every command type the parser can produce is typed on
// Slack and on Teams, through the real paths, and each answers it rather than falling through to
// "I do not know" or "type help". A new command type fails to compile here until it has an
// example, and the platforms' switches (`satisfies never`) until both handle it.

/** One way to type each command the parser knows. */
const EXAMPLES: Readonly<Record<VigilCommand['type'], string>> = {
  help: 'help',
  alerts: 'alerts severity>=high',
  alert: 'alert 424242',
  resolve: 'resolve 424242 fp',
  'route.add': 'route add C0PARITY severity>=high',
  'route.list': 'route list',
  'route.remove': 'route remove 424242',
  role: 'role oidc:https://idp.example:nobody responder',
  'token.create': 'token parity',
  'token.list': 'token list',
  'token.revoke': 'token revoke 00000000-0000-4000-8000-000000000000',
  link: 'link oidc:https://idp.example:nobody oidc:https://idp.example:other',
  unlink: 'unlink oidc:https://idp.example:nobody oidc:https://idp.example:other',
  investigate: 'investigate 424242',
  investigation: 'investigation 424242',
  remediate: 'remediate',
  remediations: 'remediations',
  'remediation.complete': 'remediation complete R-424242 patched',
  'remediation.exception': 'remediation exception R-424242 compensating_control 2099-01-01 EDR blocks it',
  'silence.add': 'silence add 1h env=parity checking parity',
  'silence.list': 'silence list',
  'silence.expire': 'silence expire 00000000-0000-4000-8000-000000000000',
  oncall: 'oncall',
};
const TYPES = Object.keys(EXAMPLES) as VigilCommand['type'][];

/** What either platform answers when it did not handle a command. */
const UNHANDLED = /I do not know|Type `help`|Type \*\*help\*\*|Usage:/;

const SLACK_ADMIN = 'U0ADMIN';
const TEAMS_ADMIN = 'ad000000-0000-4000-8000-000000000a01';
const TENANT = '5e1b4f0a-1c2d-4e3f-8a9b-0c1d2e3f4a5b';

let slack: FakeSlackApi;
let teams: FakeBotConnector;
let vigil: TestVigil;

beforeAll(async () => {
  [slack, teams] = await Promise.all([new FakeSlackApi().start(), new FakeBotConnector().start()]);
  const env = slackTestEnv(slack.url, 'C0ALERTS', SLACK_ADMIN);
  vigil = await startTestVigil({
    env: { ...env, VIGIL_TEAMS_DEV: '1', VIGIL_ADMINS: `${env.VIGIL_ADMINS},teams:${TEAMS_ADMIN}` },
  });
});
afterAll(async () => {
  await vigil?.close();
  await teams?.stop();
  await slack?.stop();
});

/** `/vigil <text>` from the Slack admin: the ephemeral answer, or the modal it opened instead. */
async function onSlack(text: string): Promise<string> {
  const modals = slack.callsOf('views.open').length;
  const response = await postSignedForm(
    vigil.baseUrl,
    commandBody({
      team_id: 'T0TEAM',
      channel_id: 'C0ALERTS',
      user_id: SLACK_ADMIN,
      user_name: 'admin',
      command: '/vigil',
      text,
      trigger_id: '1.2.3',
      api_app_id: 'A0VIGIL',
    }),
  );
  expect(response.status).toBe(200);
  const body = await response.text();
  if (body !== '') return (JSON.parse(body) as { text: string }).text;
  // An empty acknowledgement: the answer is a form (`remediate`), opened while the trigger is valid.
  const opened = await eventually(async () => slack.callsOf('views.open')[modals], 10_000, 'a modal');
  return `modal ${JSON.stringify(opened.args).slice(0, 60)}`;
}

/** `text` written to Vigil by the Teams admin in a personal chat; its reply (text or a card). */
async function onTeams(text: string): Promise<string> {
  const reply = await sayOnTeams(vigil, teams, { aad: TEAMS_ADMIN, tenant: TENANT, text });
  return typeof reply.body.text === 'string' ? reply.body.text : JSON.stringify(reply.body.attachments);
}

describe('command parity between Slack and Teams', () => {
  it.each(TYPES)('the example of %s parses to it', (type) => {
    const parsed = parseCommand(EXAMPLES[type]);
    expect(parsed.ok && parsed.value.type).toBe(type);
  });

  it.each(TYPES)('Slack handles %s', async (type) => {
    const answer = await onSlack(EXAMPLES[type]);
    expect(answer).not.toMatch(UNHANDLED);
    if (type === 'help') expect(answer).toBe(SLACK_HELP);
    else expect(answer).not.toBe(SLACK_HELP);
  });

  it.each(TYPES)('Teams handles %s', async (type) => {
    const answer = await onTeams(EXAMPLES[type]);
    expect(answer).not.toMatch(UNHANDLED);
    if (type === 'help') expect(answer).toBe(TEAMS_HELP);
    else expect(answer).not.toBe(TEAMS_HELP);
  });
});
