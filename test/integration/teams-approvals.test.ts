import { readFileSync } from 'node:fs';
import * as AC from 'adaptivecards';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARD_ACTIONS } from '../../src/bot/card-actions.js';
import { FakeBotConnector } from '../fakes/bot-connector.js';
import { FakeExecutor } from '../fakes/executor.js';
import { eventually, fixture, startTestVigil, type TestVigil } from '../helpers/harness.js';

/** Parses and validates a card with the official Adaptive Cards library; returns every problem found. */
function cardProblems(card: unknown): string[] {
  const parsed = new AC.AdaptiveCard();
  const context = new AC.SerializationContext(AC.Versions.v1_5);
  parsed.parse(card as object, context);
  const problems: string[] = [];
  for (let i = 0; i < context.eventCount; i++) problems.push(`parse: ${context.getEventAt(i).message}`);
  for (const event of parsed.validateProperties().validationEvents)
    problems.push(`validate: ${event.message}`);
  return problems;
}
const expectValidCard = (card: unknown) => expect(cardProblems(card)).toEqual([]);

const recorded = (name: string) =>
  JSON.parse(readFileSync(fixture(`teams/${name}`), 'utf8')) as Record<string, any>;
const mention = recorded('message.channel-mention.recorded-vercel-chat.json');

const ADMIN_AAD = '7a9b12a6-4f02-43f1-b6f9-fd10e047f903';
const VIEWER_AAD = 'b15a9416-0ad3-4172-9210-7beb711d3f70';
const BOT = mention.recipient as { id: string; name: string };
const CHANNEL = mention.channelData.channel.id as string;
const TEAM = mention.channelData.team.id as string;
const TENANT = mention.channelData.tenant.id as string;
const SECRET = 'executor-secret-0123456789';
const SOURCE = 'teams-approvals';
const BAD_IP = '198.51.100.7';
const BAD_USER = 'mallory@contoso.com';

let connector: FakeBotConnector;
let executor: FakeExecutor;
let vigil: TestVigil;

const json = async (response: Response) => (await response.json()) as any;
const cardJson = (card: unknown) => JSON.stringify(card);
const cardOf = (call: { body: Record<string, any> }) =>
  call.body.attachments[0].content as Record<string, any>;

/** Every Action.* in a card, however deep. */
function actionsOf(value: unknown): Record<string, any>[] {
  if (Array.isArray(value)) return value.flatMap(actionsOf);
  if (typeof value !== 'object' || value === null) return [];
  const record = value as Record<string, any>;
  const own = typeof record.type === 'string' && record.type.startsWith('Action.') ? [record] : [];
  return [...own, ...Object.values(record).flatMap(actionsOf)];
}
const approveIds = (card: unknown) =>
  actionsOf(card)
    .filter((a) => a.verb === CARD_ACTIONS.approve)
    .map((a) => a.data.actionId as string);

const post = (body: unknown) =>
  fetch(`${vigil.baseUrl}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const message = (text: string, aad = ADMIN_AAD) => ({
  ...mention,
  id: String(Date.now()),
  serviceUrl: connector.url,
  text: `<at>${BOT.name}</at> ${text}`,
  from: { ...mention.from, aadObjectId: aad },
  conversation: { ...mention.conversation, id: `${CHANNEL};messageid=1771290107407` },
});

const invoke = (verb: string, data: Record<string, unknown>, aad = ADMIN_AAD) => ({
  ...recorded('invoke.adaptiveCard-action.with-verb.semi-synthetic.json'),
  serviceUrl: connector.url,
  from: { id: '29:clicker', name: aad === ADMIN_AAD ? 'Adele Vance' : 'Viewer Val', aadObjectId: aad },
  conversation: { id: CHANNEL, conversationType: 'channel', tenantId: TENANT, isGroup: true },
  value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
});

/** Clicks a button and returns the card Teams would show in place of the clicked one. */
async function click(verb: string, data: Record<string, unknown>, aad = ADMIN_AAD) {
  const response = await post(invoke(verb, data, aad));
  expect(response.status).toBe(200);
  const answer = await json(response);
  expect(answer.type).toBe('application/vnd.microsoft.card.adaptive');
  expectValidCard(answer.value);
  return answer.value as Record<string, any>;
}

const actionStatus = async (actionId: string) =>
  (await json(await vigil.api('GET', `/api/investigations/${investigationId}`))).actions.find(
    (a: any) => a.id === actionId,
  )?.status as string | undefined;

let alert: { id: string; number: string };
let investigationId: string;
let investigationNumber: string;
const actionsByKind: Record<string, string> = {};

beforeAll(async () => {
  connector = await new FakeBotConnector().start();
  executor = await new FakeExecutor(SECRET).start();
  vigil = await startTestVigil({
    env: {
      VIGIL_TEAMS_DEV: '1',
      VIGIL_ADMINS: `teams:${ADMIN_AAD}`,
      VIGIL_EXECUTOR_WEBHOOK_URL: `${executor.url}/webhook`,
      VIGIL_EXECUTOR_WEBHOOK_SECRET: SECRET,
    },
    relayTimings: { pollMs: 100 },
  });
  // The bot is added to the channel, and the channel subscribed to every alert.
  await post({
    type: 'conversationUpdate',
    id: 'f:install-1',
    channelId: 'msteams',
    serviceUrl: connector.url,
    from: { id: mention.from.id, aadObjectId: ADMIN_AAD },
    recipient: BOT,
    conversation: { id: CHANNEL, conversationType: 'channel', isGroup: true, tenantId: TENANT },
    membersAdded: [{ id: BOT.id }],
    channelData: {
      eventType: 'teamMemberAdded',
      team: { id: TEAM },
      channel: { id: CHANNEL },
      tenant: { id: TENANT },
    },
  });
  expect((await post(message('subscribe'))).status).toBe(200);
  const rule = await vigil.api('POST', '/api/investigation-rules', {
    name: 'Teams approvals',
    source: SOURCE,
    minSeverity: 'medium',
    playbook: { name: 'Watchlist', steps: { default: [{ key: 'watchlist', provider: 'watchlist' }] } },
    automation: 'semi',
  });
  expect(rule.status).toBe(201);
  for (const entry of [
    { kind: 'ip', value: BAD_IP, reason: 'C2 server' },
    { kind: 'user', value: BAD_USER, reason: 'Known compromised account' },
  ]) {
    expect((await vigil.api('POST', '/api/watchlist', entry)).status).toBe(201);
  }
  const ingested = await vigil.ingest('generic', {
    title: 'Sign-in from C2 infrastructure',
    severity: 'high',
    source: SOURCE,
    id: `approvals-${Math.random()}`,
    entities: [
      { kind: 'user', id: BAD_USER, name: 'Mallory' },
      { kind: 'ip', id: BAD_IP },
    ],
  });
  expect(ingested.status).toBe(202);
  alert = (await json(ingested)).alerts[0];
});
afterAll(async () => {
  await vigil?.close();
  await connector?.stop();
  await executor?.stop();
});

describe('Teams: investigations and approvals on the alert card', () => {
  it('updates the posted card with the investigation, its pending actions, Approve and Reject', async () => {
    const call = await eventually(
      async () =>
        connector.calls.find(
          (c) =>
            c.conversationId === CHANNEL &&
            c.status < 300 &&
            cardJson(c.body).includes(alert.id) &&
            approveIds(c.body).length === 3 &&
            // The actions are stored a moment before the investigation says it waits for them;
            // a card drawn in between is refreshed.
            /Investigation #\d+ · Pending approval/.test(cardJson(c.body)),
        ),
      20_000,
      'a card with three pending actions, pending approval',
    );
    const card = cardOf(call);
    expectValidCard(card);
    const text = cardJson(card);
    expect(text).toMatch(/Investigation #\d+ · Pending approval/);
    expect(text).toContain('Block indicator: ');
    expect(text).toContain(BAD_IP);
    expect(text).toContain('approvals 0/1');
    expect(text).toContain('Reason (needed to reject)');
    expect(actionsOf(card).filter((a) => a.verb === CARD_ACTIONS.reject)).toHaveLength(3);
    // The top-level actions are as before; Investigate is gone while an investigation is open.
    expect(card.actions.map((a: { title: string }) => a.title)).toEqual([
      'Mark in progress',
      'Resolve',
      'Assign to me',
      'Open in Vigil',
    ]);
    expect(actionsOf(card).some((a) => a.verb === CARD_ACTIONS.investigate)).toBe(false);

    const detail = await json(await vigil.api('GET', `/api/alerts/${alert.id}`));
    investigationId = detail.investigations[0].id;
    investigationNumber = detail.investigations[0].number;
    const pending = await json(await vigil.api('GET', `/api/actions?investigationId=${investigationId}`));
    for (const action of pending.actions) actionsByKind[action.kind] = action.id;
    expect(Object.keys(actionsByKind).sort()).toEqual(['block_indicator', 'disable_user', 'revoke_sessions']);
    expect(approveIds(card).sort()).toEqual(Object.values(actionsByKind).sort());
  });

  it("refuses a viewer's approval with a card saying why, and runs nothing", async () => {
    const card = await click(
      CARD_ACTIONS.approve,
      { actionId: actionsByKind.disable_user, alertId: alert.id },
      VIEWER_AAD,
    );
    expect(cardJson(card)).toContain('Not decided: you are not an approver');
    expect(cardJson(card)).toContain('You need the approver role');
    expect(approveIds(card)).toContain(actionsByKind.disable_user);
    expect(await actionStatus(actionsByKind.disable_user as string)).toBe('pending_approval');
    expect(executor.calls).toEqual([]);
  });

  it('runs an action an approver approves (executor called once) and answers with the card showing it', async () => {
    const actionId = actionsByKind.block_indicator as string;
    const card = await click(CARD_ACTIONS.approve, { actionId, alertId: alert.id });
    expect(cardJson(card)).toContain(`Approved: Block indicator on ${BAD_IP}. It runs now.`);
    expect(approveIds(card)).not.toContain(actionId);
    expect(approveIds(card)).toHaveLength(2);

    await executor.nextCall((c) => c.body.actionId === actionId);
    await eventually(async () => (await actionStatus(actionId)) === 'done', 15_000, 'the action done');
    expect(executor.calls.filter((c) => c.body.actionId === actionId)).toHaveLength(1);

    // A second click (a stale card) is told it was already decided.
    const again = await click(CARD_ACTIONS.approve, { actionId, alertId: alert.id });
    expect(cardJson(again)).toContain('Not changed: already decided');
    expect(executor.calls.filter((c) => c.body.actionId === actionId)).toHaveLength(1);

    // The posted card follows through the pipeline: the approved action has no buttons any more.
    const update = await eventually(
      async () =>
        connector
          .updates(CHANNEL)
          .find((c) => cardJson(c.body).includes(alert.id) && approveIds(c.body).length === 2),
      15_000,
      'the card update after approval',
    );
    expectValidCard(cardOf(update));
  });

  it('refuses a reject without a reason with a card saying so, and rejects with one', async () => {
    const actionId = actionsByKind.revoke_sessions as string;
    let card = await click(CARD_ACTIONS.reject, { actionId, alertId: alert.id, reason: '   ' });
    expect(cardJson(card)).toContain('Not rejected: a reason is needed');
    expect(approveIds(card)).toContain(actionId);
    expect(await actionStatus(actionId)).toBe('pending_approval');

    card = await click(CARD_ACTIONS.reject, {
      actionId,
      alertId: alert.id,
      reason: 'Mallory is on a red-team exercise',
    });
    expect(cardJson(card)).toContain(`Rejected: Revoke sessions on Mallory (${BAD_USER})`);
    expect(approveIds(card)).toEqual([actionsByKind.disable_user]);
    expect(await actionStatus(actionId)).toBe('rejected');
    expect(executor.calls.filter((c) => c.body.actionId === actionId)).toHaveLength(0);
  });

  it('answers investigate and investigation text commands', async () => {
    const lastReply = () => connector.calls.filter((c) => typeof c.body.text === 'string').at(-1)?.body.text;
    await post(message(`investigation ${investigationNumber}`));
    const summary = lastReply() as string;
    expect(summary).toContain(`**Investigation #${investigationNumber}**: Pending approval`);
    expect(summary).toContain(`Disable user on Mallory (${BAD_USER})`);
    expect(summary).toContain(`alert ${alert.number}`);

    await post(message(`investigate ${alert.number}`, VIEWER_AAD));
    expect(lastReply()).toContain('Not started: You need the responder role');
    await post(message(`investigate ${alert.number}`));
    expect(lastReply()).toContain(`Already under investigation: investigation #${investigationNumber}`);
    await post(message('investigation 999999'));
    expect(lastReply()).toContain('No investigation 999999');
  });

  it('records a first approval of a high-impact action and says a second approver is needed', async () => {
    const root = 'root@contoso.com';
    expect(
      (await vigil.api('POST', '/api/watchlist', { kind: 'user', value: root, reason: 'Leaked admin' }))
        .status,
    ).toBe(201);
    const ingested = await vigil.ingest('generic', {
      title: 'Admin sign-in from C2',
      severity: 'high',
      source: SOURCE,
      id: `privileged-${Math.random()}`,
      entities: [{ kind: 'user', id: root, name: 'Root Admin', attributes: { privileged: true } }],
    });
    const privileged = (await json(ingested)).alerts[0] as { id: string };
    // A privileged target needs two approvers; the card shows the action with 0/2.
    const actionId = await eventually(
      async () => {
        const detail = await json(await vigil.api('GET', `/api/alerts/${privileged.id}`));
        const investigation = detail.investigations[0];
        if (investigation === undefined) return undefined;
        const pending = await json(
          await vigil.api('GET', `/api/actions?investigationId=${investigation.id}`),
        );
        return pending.actions.find((a: any) => a.target.key === root && a.approvalsNeeded === 2)?.id as
          | string
          | undefined;
      },
      20_000,
      'a pending action on the privileged user',
    );
    const call = await eventually(
      async () =>
        connector.calls.find(
          (c) =>
            c.conversationId === CHANNEL &&
            c.status < 300 &&
            cardJson(c.body).includes(privileged.id) &&
            approveIds(c.body).includes(actionId),
        ),
      20_000,
      'the privileged card',
    );
    expectValidCard(cardOf(call));
    expect(cardJson(cardOf(call))).toContain('approvals 0/2');
    const card = await click(CARD_ACTIONS.approve, { actionId, alertId: privileged.id });
    expect(cardJson(card)).toContain('Approval recorded; a second approver is needed.');
    expect(cardJson(card)).toContain('approvals 1/2');
    expect(approveIds(card)).toContain(actionId);
    const again = await click(CARD_ACTIONS.approve, { actionId, alertId: privileged.id });
    expect(cardJson(again)).toContain('Not changed: already decided. You already decided on this action');
    expect(executor.calls.filter((c) => c.body.actionId === actionId)).toHaveLength(0);
  });

  it('starts an investigation from the Investigate button on an alert without one', async () => {
    const ingested = await vigil.ingest('generic', {
      title: 'Nothing to see',
      severity: 'low',
      source: 'elsewhere',
      id: `plain-${Math.random()}`,
    });
    const plain = (await json(ingested)).alerts[0] as { id: string };
    const posted = await eventually(
      async () => connector.posts(CHANNEL).find((c) => cardJson(c.body).includes(plain.id)),
      15_000,
      'the plain card',
    );
    const investigate = actionsOf(cardOf(posted)).find((a) => a.verb === CARD_ACTIONS.investigate);
    expect(investigate?.data).toEqual({ alertId: plain.id, version: 1 });
    const viewer = await click(CARD_ACTIONS.investigate, investigate?.data, VIEWER_AAD);
    expect(cardJson(viewer)).toContain('Not started: You need the responder role');
    const card = await click(CARD_ACTIONS.investigate, investigate?.data);
    expect(cardJson(card)).toMatch(/Investigation #\d+ started/);
    expect(cardJson(card)).toMatch(/Investigation #\d+ · /);
    expect(actionsOf(card).some((a) => a.verb === CARD_ACTIONS.investigate)).toBe(false);
  });

  it('a failed action says why on the card and in the investigation reply; its links open the console', async () => {
    const ip = '203.0.113.77';
    expect(
      (await vigil.api('POST', '/api/watchlist', { kind: 'ip', value: ip, reason: 'C2 server' })).status,
    ).toBe(201);
    const ingested = await vigil.ingest('generic', {
      title: 'Beacon to a fresh C2 server',
      severity: 'high',
      source: SOURCE,
      id: `approvals-fail-${Math.random()}`,
      entities: [{ kind: 'ip', id: ip }],
    });
    const failing = (await json(ingested)).alerts[0] as { id: string; number: string };
    const investigation = await eventually(
      async () =>
        (await json(await vigil.api('GET', `/api/investigations?triggerAlert=${failing.number}`)))
          .investigations[0] as { id: string; number: string; pendingActionCount: number } | undefined,
      15_000,
      'the investigation of the new alert',
    );
    const actionId = await eventually(
      async () =>
        (await json(await vigil.api('GET', `/api/actions?investigationId=${investigation.id}`))).actions[0]
          ?.id as string | undefined,
      15_000,
      'its pending action',
    );
    executor.failNext(1, 400);
    await click(CARD_ACTIONS.approve, { actionId, alertId: failing.id });
    await eventually(
      async () => (await json(await vigil.api('GET', `/api/actions/${actionId}`))).action.status === 'failed',
      15_000,
      'the action failed',
    );
    const update = await eventually(
      async () =>
        connector
          .updates(CHANNEL)
          .find((c) => cardJson(c.body).includes(failing.id) && cardJson(c.body).includes('answered 400')),
      15_000,
      'the card update saying why the action failed',
    );
    const card = cardOf(update);
    expectValidCard(card);
    expect(cardJson(card)).toContain('(failed)');
    // Links people open go to console pages, never to the API.
    const urls = actionsOf(card)
      .filter((a) => a.type === 'Action.OpenUrl')
      .map((a) => a.url as string);
    expect(urls).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`/console/#/alerts/${failing.id}$`)),
        expect.stringMatching(new RegExp(`/console/#/investigations/${investigation.id}$`)),
      ]),
    );
    expect(urls.some((url) => url.includes('/api/'))).toBe(false);

    await post(message(`investigation ${investigation.number}`));
    const reply = connector.calls.filter((c) => typeof c.body.text === 'string').at(-1)?.body.text as string;
    expect(reply).toContain('Failed:');
    expect(reply).toContain('answered 400');
  });
});
