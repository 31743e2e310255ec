import { readFileSync } from 'node:fs';
import * as AC from 'adaptivecards';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTeamsConversation } from '../../src/storage/teams-conversation.repository.js';
import { FakeBotConnector } from '../fakes/bot-connector.js';
import { cardRow, eventually, fixture, startTestVigil, type TestVigil } from '../helpers/harness.js';

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

const ADMIN_AAD = '7a9b12a6-4f02-43f1-b6f9-fd10e047f903'; // the recorded sender
const VIEWER_AAD = 'b15a9416-0ad3-4172-9210-7beb711d3f70';
const BOT = mention.recipient as { id: string; name: string };
const CHANNEL = mention.channelData.channel.id as string;
const TEAM = mention.channelData.team.id as string;
const TENANT = mention.channelData.tenant.id as string;
// The recorded invokes come from a second tenant, which this Vigil serves too.
const INVOKE_TENANT = recorded('invoke.adaptiveCard-action.recorded-teams-net-test.json').channelData.tenant
  .id as string;
const GROUP_CHAT = '19:group-chat-0001@thread.v2';

let connector: FakeBotConnector;
let vigil: TestVigil;

/** A conversationUpdate as Teams sends it when the app is added to a team: envelope of the recorded channel message. */
const botAdded = (conversation: { id: string; conversationType: string }) => ({
  type: 'conversationUpdate',
  id: 'f:install-1',
  channelId: 'msteams',
  serviceUrl: connector.url,
  timestamp: new Date().toISOString(),
  from: { id: mention.from.id, aadObjectId: ADMIN_AAD },
  recipient: BOT,
  conversation: { isGroup: conversation.conversationType !== 'personal', tenantId: TENANT, ...conversation },
  membersAdded: [{ id: BOT.id }],
  channelData:
    conversation.conversationType === 'channel'
      ? {
          eventType: 'teamMemberAdded',
          team: { id: TEAM },
          channel: { id: conversation.id },
          tenant: { id: TENANT },
        }
      : { tenant: { id: TENANT } },
});

/** The recorded channel mention, with our text, sender and fake serviceUrl. */
const message = (text: string, options: { aad?: string; conversationId?: string } = {}) => ({
  ...mention,
  id: String(Date.now()),
  serviceUrl: connector.url,
  text: `<at>${BOT.name}</at> ${text}`,
  from: { ...mention.from, aadObjectId: options.aad ?? ADMIN_AAD },
  conversation: {
    ...mention.conversation,
    id: `${options.conversationId ?? CHANNEL};messageid=1771290107407`,
  },
});

const invoke = (value: unknown, aad = ADMIN_AAD) => ({
  ...recorded('invoke.adaptiveCard-action.with-verb.semi-synthetic.json'),
  serviceUrl: connector.url,
  from: { id: '29:clicker', name: aad === ADMIN_AAD ? 'Adele Vance' : 'Viewer Val', aadObjectId: aad },
  conversation: { id: CHANNEL, conversationType: 'channel', tenantId: TENANT, isGroup: true },
  value,
});
const execute = (verb: string, data: Record<string, unknown>) => ({
  action: { type: 'Action.Execute', verb, data },
  trigger: 'manual',
});

const post = (base: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

async function ingest(title: string, severity: string, source = 'idp') {
  const response = await vigil.ingest('generic', {
    title,
    severity,
    source,
    id: `${title}-${Math.random()}`,
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { alerts: { id: string; number: string }[] }).alerts[0] as {
    id: string;
    number: string;
  };
}

const cardOf = (call: { body: Record<string, any> }) =>
  call.body.attachments[0].content as Record<string, any>;
const cardJson = (card: unknown) => JSON.stringify(card);
const postedCardFor = (alertId: string, conversationId = CHANNEL) =>
  eventually(
    async () => connector.posts(conversationId).find((c) => cardJson(c.body).includes(alertId)),
    15_000,
    `card for ${alertId}`,
  );

beforeAll(async () => {
  connector = await new FakeBotConnector().start();
  vigil = await startTestVigil({
    env: {
      VIGIL_TEAMS_DEV: '1',
      VIGIL_ADMINS: `teams:${ADMIN_AAD}`,
      VIGIL_TEAMS_TENANTS: `${TENANT}, ${INVOKE_TENANT.toUpperCase()}`,
    },
  });
});
afterAll(async () => {
  await vigil?.close();
  await connector?.stop();
});

describe('Teams: installation, subscription and alert cards', () => {
  it('stores the conversation when the bot is added to a channel and says hello', async () => {
    const response = await post(vigil.baseUrl, botAdded({ id: CHANNEL, conversationType: 'channel' }));
    expect(response.status).toBe(200);
    const stored = await getTeamsConversation(vigil.handle.db, CHANNEL);
    expect(stored).toMatchObject({
      id: CHANNEL,
      kind: 'channel',
      serviceUrl: connector.url,
      tenantId: TENANT,
      teamId: TEAM,
      channelId: CHANNEL,
      active: true,
      subscription: null,
    });
    expect(connector.posts(CHANNEL).at(-1)?.body.text).toContain('subscribe');
  });

  it('subscribes the channel with @Vigil subscribe, refusing a viewer', async () => {
    let response = await post(vigil.baseUrl, message('subscribe severity>=high', { aad: VIEWER_AAD }));
    expect(response.status).toBe(200);
    expect(connector.calls.at(-1)?.body.text).toContain('You need the admin role');
    expect((await getTeamsConversation(vigil.handle.db, CHANNEL))?.subscription).toBeNull();

    response = await post(vigil.baseUrl, message('subscribe severity>=high'));
    expect(response.status).toBe(200);
    const reply = connector.calls.at(-1);
    // Replies go into the thread the command was typed in.
    expect(reply?.conversationId).toBe(`${CHANNEL};messageid=1771290107407`);
    expect(reply?.body.text).toContain('Subscribed: alerts of severity high and above');
    expect((await getTeamsConversation(vigil.handle.db, CHANNEL))?.subscription).toEqual({
      minSeverity: 'high',
      sources: null,
    });
  });

  it('posts a matching alert as a valid Adaptive Card, and skips one below the threshold', async () => {
    const low = await ingest('Low noise', 'low');
    const high = await ingest('Impossible travel for adele', 'high');
    const call = await postedCardFor(high.id);
    expect(call.body.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    const card = cardOf(call);
    expectValidCard(card);
    expect(card.version).toBe('1.5');
    expect(cardJson(card)).toContain('Impossible travel for adele');
    expect(card.actions.map((a: { title: string }) => a.title)).toEqual([
      'Mark in progress',
      'Resolve',
      'Assign to me',
      'Open in Vigil',
    ]);
    // A page of the console people can open (the API would answer their browser 401).
    expect(card.actions.at(-1).url).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:\\d+/console/#/alerts/${high.id}$`),
    );
    // The low alert's notify job ran (outbox completed) without a Teams card.
    await eventually(async () => {
      const rows = await vigil.handle.db.selectFrom('outbox').selectAll().execute();
      return rows.some((row) => row.payload.alertId === low.id && row.completed_at !== null);
    });
    expect(connector.posts().some((c) => cardJson(c.body).includes(low.id))).toBe(false);
  });

  it('runs Mark in progress as the Teams user and answers with the refreshed card; the posted card is updated', async () => {
    const alert = await ingest('Token theft suspected', 'critical');
    const posted = await postedCardFor(alert.id);
    const response = await post(
      vigil.baseUrl,
      invoke(execute('alert.start_progress', { alertId: alert.id, version: 1 })),
    );
    expect(response.status).toBe(200);
    const answer = (await response.json()) as {
      statusCode: number;
      type: string;
      value: Record<string, any>;
    };
    expect(answer.statusCode).toBe(200);
    expect(answer.type).toBe('application/vnd.microsoft.card.adaptive');
    expectValidCard(answer.value);
    expect(cardJson(answer.value)).toContain('In progress by Adele Vance');

    const detail = (await (await vigil.api('GET', `/api/alerts/${alert.id}`)).json()) as Record<string, any>;
    expect(detail.status).toBe('in_progress');
    expect(detail.audit.at(-1)).toMatchObject({
      action: 'alert.status_changed',
      actorKey: `teams:${ADMIN_AAD}`,
    });

    const update = await eventually(
      async () => connector.updates(CHANNEL).find((c) => c.activityId === posted.answeredId),
      15_000,
      'the card update',
    );
    expectValidCard(cardOf(update));
    expect(cardJson(cardOf(update))).toContain('In progress by Adele Vance');
  });

  it("refuses a viewer's click with a card that says why, and changes nothing", async () => {
    const alert = await ingest('Mass download', 'high');
    await postedCardFor(alert.id);
    const response = await post(
      vigil.baseUrl,
      invoke(execute('alert.start_progress', { alertId: alert.id, version: 1 }), VIEWER_AAD),
    );
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { type: string; value: unknown };
    expect(answer.type).toBe('application/vnd.microsoft.card.adaptive');
    expectValidCard(answer.value);
    expect(cardJson(answer.value)).toContain('Not changed: You need the responder role');
    const detail = (await (await vigil.api('GET', `/api/alerts/${alert.id}`)).json()) as Record<string, any>;
    expect(detail.status).toBe('new');
    expect(detail.audit.at(-1)).toMatchObject({
      action: 'alert.change_refused',
      actorKey: `teams:${VIEWER_AAD}`,
    });
  });

  it('refuses a stale click (the card showed an older version) with a card saying so', async () => {
    const alert = await ingest('Stale click', 'high');
    await postedCardFor(alert.id);
    await post(vigil.baseUrl, invoke(execute('alert.assign_to_me', { alertId: alert.id, version: 1 })));
    const response = await post(
      vigil.baseUrl,
      invoke(execute('alert.start_progress', { alertId: alert.id, version: 1 })),
    );
    const answer = (await response.json()) as { value: unknown };
    expectValidCard(answer.value);
    expect(cardJson(answer.value)).toContain('The alert changed since you saw it');
  });

  it('validates invokes as botbuilder does: 400 for a missing value or a non-Action.Execute action', async () => {
    let response = await post(vigil.baseUrl, invoke(undefined));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      statusCode: 400,
      type: 'application/vnd.microsoft.error',
      value: { code: 'BadRequest', message: 'Missing value property' },
    });
    response = await post(vigil.baseUrl, invoke({ action: { type: 'Action.Submit', data: {} } }));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(recorded('invoke-response.error-not-supported.botbuilder.json'));
    // The recorded invoke has no verb: not one of Vigil's buttons.
    response = await post(vigil.baseUrl, {
      ...recorded('invoke.adaptiveCard-action.recorded-teams-net-test.json'),
      serviceUrl: connector.url,
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { type: string }).type).toBe('application/vnd.microsoft.error');
  });

  it('retries after a 429 from the connector (Retry-After) and the update lands', async () => {
    const alert = await ingest('Throttled update', 'high');
    const posted = await postedCardFor(alert.id);
    connector.fail({ status: 429, retryAfter: '1', conversationId: CHANNEL });
    const response = await post(
      vigil.baseUrl,
      invoke(
        execute('alert.resolve', {
          alertId: alert.id,
          version: 1,
          classification: 'false_positive',
          comment: 'lab test',
        }),
      ),
    );
    expect(cardJson(((await response.json()) as { value: unknown }).value)).toContain(
      'Resolved as False positive',
    );
    const landed = await eventually(
      async () =>
        connector
          .updates(CHANNEL)
          .find((c) => c.activityId === posted.answeredId && cardJson(c.body).includes('Resolved')),
      15_000,
      'the update after 429',
    );
    expectValidCard(cardOf(landed));
    expect(connector.calls.some((c) => c.status === 429 && c.activityId === posted.answeredId)).toBe(true);
    expect(cardJson(cardOf(landed))).toContain('lab test');
    expect(cardOf(landed).actions.map((a: { title: string }) => a.title)).toEqual([
      'Reopen',
      'Open in Vigil',
    ]);
  });

  it('marks a conversation that answers 403 inactive and stops using it', async () => {
    await post(vigil.baseUrl, botAdded({ id: GROUP_CHAT, conversationType: 'groupChat' }));
    await post(vigil.baseUrl, message('subscribe', { conversationId: GROUP_CHAT }));
    expect((await getTeamsConversation(vigil.handle.db, GROUP_CHAT))?.subscription).toEqual({
      minSeverity: null,
      sources: null,
    });
    connector.fail({ status: 403, conversationId: GROUP_CHAT });
    const alert = await ingest('Removed bot', 'medium');
    await eventually(
      async () => (await getTeamsConversation(vigil.handle.db, GROUP_CHAT))?.active === false,
      15_000,
      'inactive',
    );
    // The card is `posting` while the refused post is in flight, then recorded as failed.
    const card = await eventually(async () => {
      const row = await cardRow(vigil, alert.id, GROUP_CHAT);
      return row?.state === 'posting' ? undefined : row;
    });
    expect(card.state).toBe('failed');
    const next = await ingest('After removal', 'medium');
    await eventually(async () => {
      const rows = await vigil.handle.db.selectFrom('outbox').selectAll().execute();
      return rows.some((row) => row.payload.alertId === next.id && row.completed_at !== null);
    });
    expect(
      connector.calls.filter((c) => c.conversationId === GROUP_CHAT && cardJson(c.body).includes(next.id)),
    ).toEqual([]);
  });

  it('a card someone deleted fails alone: its channel stays active and gets the next card', async () => {
    const alert = await ingest('Deleted card', 'high');
    const posted = await postedCardFor(alert.id);
    // What Teams answers an update of a message that was deleted (BotFramework-Services#269).
    connector.fail({ status: 403, code: 'ServiceError', conversationId: CHANNEL, method: 'PUT' });
    const resolved = await vigil.api('POST', `/api/alerts/${alert.id}/status`, {
      status: 'resolved',
      classification: 'false_positive',
    });
    expect(resolved.status).toBe(200);
    await eventually(
      async () =>
        connector.calls.find((c) => c.status === 403 && c.activityId === posted.answeredId) ?? undefined,
      15_000,
      'the refused update',
    );
    const card = await eventually(async () => {
      const row = await cardRow(vigil, alert.id, CHANNEL);
      return row?.state === 'failed' ? row : undefined;
    });
    expect(card.error).toContain('teams_message_403');
    expect((await getTeamsConversation(vigil.handle.db, CHANNEL))?.active).toBe(true);
    const next = await ingest('After a deleted card', 'high');
    await postedCardFor(next.id);
  });

  it('answers text commands: help, alerts, alert <n>, unknown words', async () => {
    const alert = await ingest('Command check', 'high');
    // Card posts for the new alert may land between a command and its answer: read the answers only.
    const lastReply = () => connector.calls.filter((c) => typeof c.body.text === 'string').at(-1)?.body.text;
    await post(vigil.baseUrl, message('help'));
    expect(lastReply()).toContain('**subscribe**');
    await post(vigil.baseUrl, message('alerts'));
    expect(lastReply()).toContain(`#${alert.number}`);
    await post(vigil.baseUrl, message(`alert ${alert.number}`));
    const card = cardOf(connector.calls.at(-1) as { body: Record<string, any> });
    expectValidCard(card);
    expect(cardJson(card)).toContain('Command check');
    await post(vigil.baseUrl, message('dance'));
    expect(lastReply()).toContain('I do not know "dance"');
  });
});

describe('Teams: authentication', () => {
  it('refuses activities without a valid Bot Framework token when MICROSOFT_APP_ID is set', async () => {
    const secured = await startTestVigil({
      env: {
        MICROSOFT_APP_ID: '00000000-0000-0000-0000-000000000001',
        MICROSOFT_APP_PASSWORD: 'not-a-real-secret',
        VIGIL_TEAMS_TENANTS: TENANT,
      },
    });
    try {
      const activity = message('help');
      expect((await post(secured.baseUrl, activity)).status).toBe(401);
      expect((await post(secured.baseUrl, activity, { authorization: 'Bearer not.a.jwt' })).status).toBe(401);
      expect(await getTeamsConversation(secured.handle.db, CHANNEL)).toBeNull();
    } finally {
      await secured.close();
    }
  });

  it('has no /api/messages without an app ID or VIGIL_TEAMS_DEV', async () => {
    const off = await startTestVigil();
    try {
      expect((await post(off.baseUrl, message('help'))).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});

describe('Teams: tenants and dev mode', () => {
  const refusals = () =>
    vigil.handle.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'teams.activity_refused')
      .execute();

  it('refuses activities from a tenant not in VIGIL_TEAMS_TENANTS: 403, nothing stored or answered, audited', async () => {
    const foreign = 'f0000000-0000-4000-8000-00000000e71c';
    const conversationId = '19:foreign-channel@thread.tacv2';
    const before = connector.calls.length;
    const activity = {
      ...message('subscribe', { conversationId }),
      conversation: { ...mention.conversation, id: conversationId, tenantId: foreign },
      channelData: { ...mention.channelData, tenant: { id: foreign }, channel: { id: conversationId } },
    };
    const response = await post(vigil.baseUrl, activity);
    expect(response.status).toBe(403);
    expect(await getTeamsConversation(vigil.handle.db, conversationId)).toBeNull();
    expect(connector.calls.slice(before)).toEqual([]);
    // The channel data cannot vouch for a conversation of another tenant either.
    const mixed = { ...activity, conversation: { ...activity.conversation, tenantId: TENANT } };
    expect((await post(vigil.baseUrl, mixed)).status).toBe(403);
    const audited = await refusals();
    expect(audited.at(-1)).toMatchObject({
      actor_key: `teams:${ADMIN_AAD}`,
      details: { code: 'teams.tenant_not_allowed', tenantId: TENANT, type: 'message' },
    });
    expect(audited.some((row) => row.details.tenantId === foreign)).toBe(true);
  });

  it('in dev mode, refuses a serviceUrl off loopback, so a request cannot make Vigil call out', async () => {
    for (const serviceUrl of [
      'http://attacker.example:8080',
      'http://127.0.0.1.nip.io/',
      'file:///etc/passwd',
    ]) {
      const conversationId = `19:dev-${Math.random().toString(36).slice(2)}@thread.tacv2`;
      const response = await post(vigil.baseUrl, { ...message('help', { conversationId }), serviceUrl });
      expect(response.status).toBe(403);
      expect((await response.json()) as unknown).toMatchObject({
        statusCode: 403,
        value: { message: expect.stringContaining('loopback serviceUrl') },
      });
      expect(await getTeamsConversation(vigil.handle.db, conversationId)).toBeNull();
    }
    expect((await refusals()).at(-1)?.details).toMatchObject({ code: 'teams.service_url_not_allowed' });
  });
});
