import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARD_ACTIONS } from '../../src/bot/card-actions.js';
import { FakeExecutor } from '../fakes/executor.js';
import { type FakeMessage, FakeSlackApi } from '../fakes/slack-api.js';
import { eventually, startTestVigil, type TestVigil } from '../helpers/harness.js';
import {
  buttonClickBody,
  interactionBody,
  postSignedForm,
  SLACK_TEST_SECRET,
  slackHeaders,
  slackTestEnv,
  slashCommandBody,
} from '../helpers/slack-signing.js';

const SECRET = SLACK_TEST_SECRET;
const EXECUTOR_SECRET = 'executor-secret-0123456789';
const ADMIN = 'U0ADMIN';
const APPROVER = 'U0APPROVER';
const APPROVER2 = 'U0APPROVER2';
const VIEWER = 'U0VIEWER';
const CHANNEL = 'C0ALERTS';

let fake: FakeSlackApi;
let executor: FakeExecutor;
let vigil: TestVigil;

const json = async (response: Response) => (await response.json()) as any;

beforeAll(async () => {
  fake = await new FakeSlackApi().start();
  executor = await new FakeExecutor(EXECUTOR_SECRET).start();
  vigil = await startTestVigil({
    env: {
      ...slackTestEnv(fake.url, CHANNEL, ADMIN),
      VIGIL_EXECUTOR_WEBHOOK_URL: `${executor.url}/webhook`,
      VIGIL_EXECUTOR_WEBHOOK_SECRET: EXECUTOR_SECRET,
    },
    relayTimings: { pollMs: 100 },
  });
  for (const id of [APPROVER, APPROVER2]) {
    expect((await command(`role <@${id}> approver`)).text).toContain('is now an approver');
  }
  const rule = await vigil.api('POST', '/api/investigation-rules', {
    name: 'Watched IPs',
    source: 'slk',
    minSeverity: 'medium',
    playbook: { name: 'Watchlist', steps: { default: [{ key: 'watchlist', provider: 'watchlist' }] } },
    automation: 'semi',
  });
  expect(rule.status).toBe(201);
  for (const ip of ['198.51.100.7', '198.51.100.8', '198.51.100.9', '198.51.100.10', '203.0.113.66']) {
    const added = await vigil.api('POST', '/api/watchlist', { kind: 'ip', value: ip, reason: 'C2 server' });
    expect(added.status).toBeLessThan(300);
  }
});
afterAll(async () => {
  await vigil?.close();
  await executor?.stop();
  await fake?.stop();
});

const sendSlack = (body: string) => postSignedForm(vigil.baseUrl, body);

/** A click on one button in the alerts channel. */
const click = (actionId: string, value: string, user: string) =>
  sendSlack(buttonClickBody(fake.url, CHANNEL, actionId, value, user));

const command = async (text: string, user = ADMIN) => {
  const response = await sendSlack(slashCommandBody(fake.url, CHANNEL, text, user));
  expect(response.status).toBe(200);
  return (await response.json()) as { response_type: string; text: string; blocks?: unknown[] };
};

async function ingest(body: Record<string, unknown>): Promise<{ id: string; number: string }> {
  const response = await vigil.ingest('generic', body);
  expect(response.status).toBe(202);
  return (await json(response)).alerts[0];
}

const auditOf = (id: string) =>
  vigil.handle.db.selectFrom('audit_log').selectAll().where('alert_id', '=', id).orderBy('id').execute();

async function cardMessage(alertId: string): Promise<FakeMessage | undefined> {
  const row = await vigil.handle.db
    .selectFrom('cards')
    .selectAll()
    .where('alert_id', '=', alertId)
    .where('platform', '=', 'slack')
    .where('target', '=', CHANNEL)
    .executeTakeFirst();
  return row?.message_ref == null ? undefined : fake.messages.get(`${CHANNEL}/${row.message_ref}`);
}

/** The card once it satisfies `test`. */
const cardWhen = (alertId: string, test: (card: FakeMessage) => boolean, what: string) =>
  eventually(
    async () => {
      const card = await cardMessage(alertId);
      return card !== undefined && test(card) ? card : undefined;
    },
    20_000,
    what,
  );

type ActionsBlock = { type: string; block_id?: string; elements: { action_id: string; value?: string }[] };
const approvalBlocks = (card: FakeMessage): ActionsBlock[] =>
  (card.blocks as ActionsBlock[]).filter(
    (block) => block.type === 'actions' && block.block_id?.startsWith('action:') === true,
  );

/** The pending action shown on the card of an alert (its ID from the Approve button). */
async function pendingOnCard(alertId: string): Promise<{ actionId: string; card: FakeMessage }> {
  const card = await cardWhen(
    alertId,
    (c) => approvalBlocks(c).length > 0,
    'an action to approve on the card',
  );
  const block = approvalBlocks(card)[0] as ActionsBlock;
  expect(block.elements.map((element) => element.action_id)).toEqual([
    CARD_ACTIONS.approve,
    CARD_ACTIONS.reject,
  ]);
  const actionId = block.elements[0]?.value as string;
  expect(block.elements[1]?.value).toBe(actionId);
  return { actionId, card };
}

const actionRow = (id: string) =>
  vigil.handle.db.selectFrom('actions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

/** The next ephemeral message to `user` after `from` calls. */
const ephemeralTo = (user: string, from: number) =>
  eventually(
    async () =>
      fake
        .callsOf('chat.postEphemeral')
        .slice(from)
        .find((call) => call.args.user === user),
    20_000,
    `an ephemeral message to ${user}`,
  );

describe('investigations and approvals from Slack', () => {
  it('shows the pending action on the card; an approver approves, the executor runs it once, the card follows', async () => {
    const { id } = await ingest({
      title: 'Beacon to a C2 server',
      source: 'slk',
      severity: 'high',
      id: 'slk-1',
      entities: [{ kind: 'ip', id: '198.51.100.7' }],
    });
    const { actionId, card } = await pendingOnCard(id);
    const text = JSON.stringify(card.blocks);
    expect(text).toMatch(/Investigation #\d+/);
    expect(text).toContain('*Block indicator* `198.51.100.7` · approvals 0/1');
    // An investigation is open: no Investigate button.
    expect(text).not.toContain(CARD_ACTIONS.investigate);

    const updates = fake.callsOf('chat.update').length;
    expect((await click(CARD_ACTIONS.approve, actionId, APPROVER)).status).toBe(200);
    await eventually(async () => (await actionRow(actionId)).status === 'done', 20_000, 'the action done');
    expect(executor.callsWithKey(`vigil-action-${actionId}`)).toHaveLength(1);
    expect(executor.calls.find((call) => call.body.actionId === actionId)?.body).toMatchObject({
      kind: 'block_indicator',
      target: { key: '198.51.100.7' },
    });
    // The card was updated by the pipeline: the action left the card and the investigation settled.
    const done = await cardWhen(
      id,
      (c) => approvalBlocks(c).length === 0 && JSON.stringify(c.blocks).includes('Remediated'),
      'the card to show the investigation remediated',
    );
    expect(JSON.stringify(done.blocks)).not.toContain(actionId);
    expect(fake.callsOf('chat.update').length).toBeGreaterThan(updates);
    const audit = await auditOf(id);
    expect(audit.find((entry) => entry.action === 'action.approved')?.actor_key).toBe(`slack:${APPROVER}`);

    // A second click is told the action was already decided, and runs nothing again.
    const ephemerals = fake.callsOf('chat.postEphemeral').length;
    await click(CARD_ACTIONS.approve, actionId, APPROVER2);
    expect(String((await ephemeralTo(APPROVER2, ephemerals)).args.text)).toContain('already decided');
    expect(executor.callsWithKey(`vigil-action-${actionId}`)).toHaveLength(1);
  });

  it('a failed action says why on the card and in /vigil investigation; links open the console', async () => {
    const { id } = await ingest({
      title: 'Beacon to another C2 server',
      source: 'slk',
      severity: 'high',
      id: 'slk-fail-1',
      entities: [{ kind: 'ip', id: '203.0.113.66' }],
    });
    const { actionId } = await pendingOnCard(id);
    executor.failNext(1, 400);
    expect((await click(CARD_ACTIONS.approve, actionId, APPROVER)).status).toBe(200);
    await eventually(
      async () => (await actionRow(actionId)).status === 'failed',
      20_000,
      'the action failed',
    );
    const card = await cardWhen(
      id,
      (c) => JSON.stringify(c.blocks).includes('· failed: '),
      'the card to say why the action failed',
    );
    const blocks = JSON.stringify(card.blocks);
    expect(blocks).toMatch(/\*Block indicator\* `203\.0\.113\.66` · failed: POST \/webhook answered 400/);
    // The investigation's link on the card opens its console page, not the API.
    const investigationId = (await actionRow(actionId)).investigation_id;
    expect(blocks).toContain(`/console/#/investigations/${investigationId}|Investigation #`);
    expect(blocks).toContain(`/console/#/alerts/${id}"`);
    expect(blocks).not.toContain('/api/');
    const detail = JSON.stringify((await command(`investigation ${investigationId}`, VIEWER)).blocks);
    expect(detail).toContain('*Failed (1)*');
    expect(detail).toContain('answered 400');
  });

  it("refuses a viewer's Approve ephemerally and audits it; Reject opens a modal whose reason rejects", async () => {
    const { id } = await ingest({
      title: 'Another beacon',
      source: 'slk',
      severity: 'high',
      id: 'slk-2',
      entities: [{ kind: 'ip', id: '198.51.100.9' }],
    });
    const { actionId } = await pendingOnCard(id);

    let ephemerals = fake.callsOf('chat.postEphemeral').length;
    expect((await click(CARD_ACTIONS.approve, actionId, VIEWER)).status).toBe(200);
    const refusal = await ephemeralTo(VIEWER, ephemerals);
    expect(refusal.args.channel).toBe(CHANNEL);
    expect(String(refusal.args.text)).toContain('You need the approver role');
    const refused = await eventually(
      async () => (await auditOf(id)).find((entry) => entry.action === 'action.decision_refused'),
      5000,
      'the refusal audited',
    );
    expect(refused.actor_key).toBe(`slack:${VIEWER}`);
    expect(refused.details).toMatchObject({ code: 'action.not_approver', role: 'viewer' });
    expect((await actionRow(actionId)).status).toBe('pending_approval');

    // A viewer's Reject is refused before any form.
    const opened = fake.callsOf('views.open').length;
    ephemerals = fake.callsOf('chat.postEphemeral').length;
    await click(CARD_ACTIONS.reject, actionId, VIEWER);
    expect(String((await ephemeralTo(VIEWER, ephemerals)).args.text)).toContain('approver role');
    expect(fake.callsOf('views.open')).toHaveLength(opened);

    expect((await click(CARD_ACTIONS.reject, actionId, APPROVER)).status).toBe(200);
    const call = await eventually(async () => fake.callsOf('views.open')[opened], 20_000, 'views.open');
    const view = call.args.view as { callback_id: string; private_metadata: string; blocks: unknown[] };
    expect(JSON.stringify(view.blocks)).toContain('198.51.100.9');
    const submit = (reason: string) =>
      sendSlack(
        interactionBody({
          type: 'view_submission',
          team: { id: 'T0TEAM', domain: 'example' },
          user: { id: APPROVER, username: 'approver', name: 'approver', team_id: 'T0TEAM' },
          api_app_id: 'A0VIGIL',
          token: 'verification_token',
          trigger_id: '111.222.valid',
          view: {
            id: 'V222',
            team_id: 'T0TEAM',
            type: 'modal',
            blocks: view.blocks,
            private_metadata: view.private_metadata,
            callback_id: view.callback_id,
            state: { values: { reason: { reason: { type: 'plain_text_input', value: reason } } } },
            hash: '1596530361.3wRYuk3R',
          },
          response_urls: [],
        }),
      );
    const blank = await submit('   ');
    expect(blank.status).toBe(200);
    expect(await json(blank)).toMatchObject({
      response_action: 'errors',
      errors: { reason: expect.any(String) },
    });
    expect((await actionRow(actionId)).status).toBe('pending_approval');

    ephemerals = fake.callsOf('chat.postEphemeral').length;
    expect((await submit('a CDN, not a C2 server')).status).toBe(200);
    await eventually(async () => (await actionRow(actionId)).status === 'rejected', 20_000, 'rejected');
    expect(String((await ephemeralTo(APPROVER, ephemerals)).args.text)).toContain('You rejected');
    const decision = await vigil.handle.db
      .selectFrom('action_decisions')
      .selectAll()
      .where('action_id', '=', actionId)
      .executeTakeFirstOrThrow();
    expect(decision).toMatchObject({ decision: 'reject', reason: 'a CDN, not a C2 server' });
    expect(executor.calls.filter((c) => c.body.actionId === actionId)).toHaveLength(0);
    await cardWhen(id, (c) => approvalBlocks(c).length === 0, 'the rejected action off the card');
  });

  it('Investigate starts an investigation as the Slack user, who then cannot approve its actions', async () => {
    // No rule matches this source: nothing starts by itself.
    const { id, number } = await ingest({
      title: 'Odd sign-in',
      source: 'manual-slk',
      severity: 'high',
      id: 'mslk-1',
      entities: [{ kind: 'ip', id: '198.51.100.8' }],
    });
    const card = await cardWhen(
      id,
      (c) => JSON.stringify(c.blocks).includes(CARD_ACTIONS.investigate),
      'the Investigate button',
    );
    const investigate = (card.blocks as ActionsBlock[]).find(
      (block) => block.block_id === `investigate:${id}`,
    );
    const value = investigate?.elements[0]?.value as string;
    expect(value).toBe(`${id}:1`);

    // A viewer is refused and audited.
    let ephemerals = fake.callsOf('chat.postEphemeral').length;
    await click(CARD_ACTIONS.investigate, value, VIEWER);
    expect(String((await ephemeralTo(VIEWER, ephemerals)).args.text)).toContain('responder role');
    expect((await auditOf(id)).map((entry) => entry.action)).toContain('alert.investigate_refused');

    expect((await click(CARD_ACTIONS.investigate, value, APPROVER2)).status).toBe(200);
    const { actionId } = await pendingOnCard(id);
    const started = (await auditOf(id)).find((entry) => entry.action === 'alert.investigation_started');
    expect(started?.actor_key).toBe(`slack:${APPROVER2}`);

    ephemerals = fake.callsOf('chat.postEphemeral').length;
    await click(CARD_ACTIONS.approve, actionId, APPROVER2);
    expect(String((await ephemeralTo(APPROVER2, ephemerals)).args.text)).toContain(
      'someone else must approve it',
    );
    expect((await actionRow(actionId)).status).toBe('pending_approval');
    const audit = await auditOf(id);
    expect(audit.at(-1)).toMatchObject({
      action: 'action.decision_refused',
      details: expect.objectContaining({ code: 'action.requester_cannot_approve' }),
    });

    // /vigil investigate finds the same one; /vigil investigation shows it.
    const again = await command(`investigate ${number}`, APPROVER2);
    expect(again.text).toContain('already being investigated');
    const investigationId = started?.details.investigationId as string;
    const detail = await command(`investigation ${investigationId}`, VIEWER);
    const shown = JSON.stringify(detail.blocks);
    expect(shown).toContain('Odd sign-in');
    expect(shown).toContain('Waiting for approval (1)');
    expect(shown).toContain('198.51.100.8');
    expect(shown).toContain('malicious 1');
    expect((await command('investigation 999999999')).text).toContain('No investigation');

    // App Home lists it for another approver, not for its requester or a viewer.
    const published = fake.callsOf('views.publish').length;
    const home = async (user: string, index: number) => {
      const event = homeEvent(user);
      const response = await fetch(`${vigil.baseUrl}/slack/events`, {
        method: 'POST',
        headers: slackHeaders(SECRET, event, 'application/json'),
        body: event,
      });
      expect(response.status).toBe(200);
      return JSON.stringify(
        (await eventually(async () => fake.callsOf('views.publish')[index], 20_000, 'views.publish')).args
          .view,
      );
    };
    const forApprover = await home(APPROVER, published);
    expect(forApprover).toContain('Actions waiting for my approval');
    expect(forApprover).toContain(actionId);
    expect(await home(APPROVER2, published + 1)).not.toContain(actionId);
    expect(await home(VIEWER, published + 2)).not.toContain('Actions waiting for my approval');
  });

  it('records the first of two approvals on a privileged account and tells the approver so', async () => {
    const watched = await vigil.api('POST', '/api/watchlist', {
      kind: 'user',
      value: 'root@contoso.com',
      reason: 'leaked credentials',
    });
    expect(watched.status).toBeLessThan(300);
    const { id } = await ingest({
      title: 'Admin account compromised',
      source: 'slk',
      severity: 'high',
      id: 'slk-3',
      entities: [{ kind: 'user', id: 'root@contoso.com', attributes: { privileged: true } }],
    });
    const { actionId, card } = await pendingOnCard(id);
    expect(JSON.stringify(card.blocks)).toContain('approvals 0/2');
    const ephemerals = fake.callsOf('chat.postEphemeral').length;
    await click(CARD_ACTIONS.approve, actionId, APPROVER);
    expect(String((await ephemeralTo(APPROVER, ephemerals)).args.text)).toContain(
      'Your approval is recorded',
    );
    expect((await actionRow(actionId)).status).toBe('pending_approval');
    await cardWhen(
      id,
      (c) => {
        const text = JSON.stringify(c.blocks);
        return text.includes(actionId) && text.includes('approvals 1/2');
      },
      'the card to show one approval of two',
    );
    await click(CARD_ACTIONS.approve, actionId, APPROVER2);
    await eventually(
      async () => ['approved', 'running', 'done'].includes((await actionRow(actionId)).status),
      20_000,
      'the action approved by the second approver',
    );
  });

  it('/vigil investigate starts one from the command line', async () => {
    const { number } = await ingest({
      title: 'Started by command',
      source: 'manual-slk',
      severity: 'medium',
      id: 'mslk-2',
      entities: [{ kind: 'ip', id: '198.51.100.10' }],
    });
    expect((await command(`investigate ${number}`, VIEWER)).text).toContain('responder role');
    expect((await command(`investigate ${number}`)).text).toMatch(/Investigation #\d+.* started/);
    expect((await command('investigate')).text).toContain('Usage');
  });
});

const homeEvent = (user: string) =>
  JSON.stringify({
    token: 'verification_token',
    team_id: 'T0TEAM',
    api_app_id: 'A0VIGIL',
    event: { type: 'app_home_opened', user, channel: 'D0HOME', tab: 'home', event_ts: '1700000000.000100' },
    type: 'event_callback',
    event_id: `Ev${Math.random().toString(36).slice(2, 10)}`,
    event_time: Math.floor(Date.now() / 1000),
  });
