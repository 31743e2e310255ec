import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARD_ACTIONS } from '../../src/bot/card-actions.js';
import { FakeEntraToken } from '../fakes/entra-token.js';
import { FakeGraph } from '../fakes/graph.js';
import { FakeSlackApi } from '../fakes/slack-api.js';
import { graphTestEnv } from '../helpers/graph-env.js';
import { eventually, fixture, startTestVigil, type TestVigil } from '../helpers/harness.js';
import { buttonClickBody, postSignedForm, slackTestEnv, slashCommandBody } from '../helpers/slack-signing.js';

// A Slack user's verified e-mail (users.info) is their UPN for Graph's `assignedTo` when no UPN is
// known; a Slack guest's never is.
const CHANNEL = 'C0UPN';
const ADMIN = 'U0ADMIN';
const ALERT = JSON.parse(
  readFileSync(fixture('alerts/graph-security/alert.mde-device-file-process-registry.docs.json'), 'utf8'),
) as Record<string, unknown>;

let entra: FakeEntraToken;
let graph: FakeGraph;
let slack: FakeSlackApi;
let vigil: TestVigil;

beforeAll(async () => {
  entra = await new FakeEntraToken().start();
  entra.roles.set('https://graph.microsoft.com', ['SecurityAlert.ReadWrite.All']);
  graph = await new FakeGraph({ entra }).start();
  slack = await new FakeSlackApi().start();
  vigil = await startTestVigil({
    env: {
      ...slackTestEnv(slack.url, CHANNEL, ADMIN),
      VIGIL_DEFAULT_ROLE: 'responder',
      ...graphTestEnv(entra, graph),
    },
    relayTimings: { pollMs: 100 },
  });
});
afterAll(async () => {
  await vigil?.close();
  await slack?.stop();
  await graph?.stop();
  await entra?.stop();
});

/** A Slack user Vigil has met (a command), with their e-mail looked up. */
async function met(user: string): Promise<void> {
  const response = await postSignedForm(vigil.baseUrl, slashCommandBody(slack.url, CHANNEL, 'oncall', user));
  expect(response.status).toBe(200);
  await eventually(
    async () =>
      (
        await vigil.handle.db
          .selectFrom('person_identities')
          .select('email_looked_up_at')
          .where('key', '=', `slack:T0TEAM:${user}`)
          .executeTakeFirst()
      )?.email_looked_up_at ?? undefined,
    20_000,
    `the lookup of ${user}`,
  );
}

async function assignFromSlack(graphId: string, user: string): Promise<string> {
  graph.putAlert({ ...ALERT, id: graphId, incidentId: '', status: 'new' });
  const ingested = await vigil.ingest('graph', {
    value: [{ ...ALERT, id: graphId, incidentId: '', status: 'new' }],
  });
  const alertId = ((await ingested.json()) as { alerts: { id: string }[] }).alerts[0]?.id as string;
  const clicked = await postSignedForm(
    vigil.baseUrl,
    buttonClickBody(slack.url, CHANNEL, CARD_ACTIONS.assignToMe, `${alertId}:1`, user),
  );
  expect(clicked.status).toBe(200);
  return alertId;
}

describe('Slack users assigned in Vigil, written back to Graph', () => {
  it('sends the verified e-mail of a workspace member as assignedTo', async () => {
    slack.users.set('U0ADELE', { id: 'U0ADELE', email: 'AdeleV@Contoso.com' });
    await met('U0ADELE');
    await assignFromSlack('slack-upn-1', 'U0ADELE');
    await eventually(
      async () => graph.alerts.get('slack-upn-1')?.assignedTo === 'adelev@contoso.com',
      20_000,
      'assignedTo in the fake Graph',
    );
  });

  it('never sends a guest’s e-mail: the trail says the assignee was not written', async () => {
    slack.users.set('U0GUEST', { id: 'U0GUEST', email: 'guest@partner.example', isRestricted: true });
    await met('U0GUEST');
    const alertId = await assignFromSlack('slack-upn-2', 'U0GUEST');
    await eventually(
      async () =>
        (
          await vigil.handle.db
            .selectFrom('audit_log')
            .select('id')
            .where('alert_id', '=', alertId)
            .where('action', '=', 'alert.write_back_skipped')
            .executeTakeFirst()
        )?.id,
      20_000,
      'the skipped assignee on the trail',
    );
    expect(graph.alerts.get('slack-upn-2')?.assignedTo ?? null).not.toBe('guest@partner.example');
  });
});
