import { readFileSync } from 'node:fs';
import * as AC from 'adaptivecards';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBotConnector } from '../fakes/bot-connector.js';
import { eventually, fixture, startTestVigil, type TestVigil } from '../helpers/harness.js';
import { completedNoticeDone, retiredNotices } from '../helpers/remediation-notices.js';

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
const TENANT = mention.channelData.tenant.id as string;
const PUBLIC_URL = 'https://vigil.example';
const PERSONAL = 'a:1personal-chat-with-adele';

let connector: FakeBotConnector;
let vigil: TestVigil;

const json = async (response: Response) => (await response.json()) as any;
const cardJson = (card: unknown) => JSON.stringify(card);

/** Every element or action of a card, however deep. */
function elementsOf(value: unknown): Record<string, any>[] {
  if (Array.isArray(value)) return value.flatMap(elementsOf);
  if (typeof value !== 'object' || value === null) return [];
  const record = value as Record<string, any>;
  const own = typeof record.type === 'string' ? [record] : [];
  return [...own, ...Object.values(record).flatMap(elementsOf)];
}

const post = (body: unknown) =>
  fetch(`${vigil.baseUrl}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

let sequence = 0;
const message = (text: string, aad = ADMIN_AAD) => ({
  ...mention,
  id: `${Date.now()}${sequence++}`,
  serviceUrl: connector.url,
  text: `<at>${BOT.name}</at> ${text}`,
  from: { ...mention.from, aadObjectId: aad },
  conversation: { ...mention.conversation, id: `${CHANNEL};messageid=1771290107407` },
});

/** Sends a text command and returns the bot's reply (the last call to the connector). */
async function say(text: string, aad = ADMIN_AAD) {
  const before = connector.calls.length;
  expect((await post(message(text, aad))).status).toBe(200);
  const replies = connector.calls.slice(before).filter((c) => c.status < 300);
  expect(replies.length).toBeGreaterThan(0);
  return replies.at(-1)?.body as Record<string, any>;
}

const invoke = (
  data: Record<string, unknown>,
  { aad = ADMIN_AAD, id = `f:${crypto.randomUUID()}` }: { aad?: string; id?: string } = {},
) => ({
  ...recorded('invoke.adaptiveCard-action.with-verb.semi-synthetic.json'),
  id,
  serviceUrl: connector.url,
  from: { id: '29:clicker', name: aad === ADMIN_AAD ? 'Adele Vance' : 'Viewer Val', aadObjectId: aad },
  conversation: { id: CHANNEL, conversationType: 'channel', tenantId: TENANT, isGroup: true },
  value: { action: { type: 'Action.Execute', verb: 'remediation.create', data }, trigger: 'manual' },
});

/** Submits the form and returns the card Teams would show in place of it. */
async function submit(data: Record<string, unknown>, options?: { aad?: string; id?: string }) {
  const response = await post(invoke(data, options));
  expect(response.status).toBe(200);
  const answer = await json(response);
  expect(answer.type).toBe('application/vnd.microsoft.card.adaptive');
  expectValidCard(answer.value);
  return answer.value as Record<string, any>;
}

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
const remediations = () => vigil.handle.db.selectFrom('remediations').selectAll().execute();

beforeAll(async () => {
  connector = await new FakeBotConnector().start();
  vigil = await startTestVigil({
    env: { VIGIL_TEAMS_DEV: '1', VIGIL_ADMINS: `teams:${ADMIN_AAD}`, VIGIL_PUBLIC_URL: PUBLIC_URL },
  });
});
afterAll(async () => {
  await vigil?.close();
  await connector?.stop();
});

describe('Teams: remediation requests', () => {
  it('answers `remediate` with a valid form card', async () => {
    const reply = await say('remediate');
    const attachment = reply.attachments[0];
    expect(attachment.contentType).toBe('application/vnd.microsoft.card.adaptive');
    const card = attachment.content;
    expectValidCard(card);
    expect(card.version).toBe('1.5');
    const byId = Object.fromEntries(
      elementsOf(card)
        .filter((e) => typeof e.id === 'string')
        .map((e) => [e.id, e]),
    );
    expect(byId.recommendation).toMatchObject({ type: 'Input.Text', isRequired: true });
    expect(byId.devices).toMatchObject({ type: 'Input.Text', isMultiline: true, isRequired: true });
    expect(byId.due).toMatchObject({ type: 'Input.Date', isRequired: true });
    expect(byId.priority).toMatchObject({ type: 'Input.ChoiceSet', value: 'medium' });
    expect(byId.priority.choices.map((c: { value: string }) => c.value)).toEqual([
      'low',
      'medium',
      'high',
      'critical',
    ]);
    expect(byId.notes).toMatchObject({ type: 'Input.Text', isMultiline: true });
    expect(card.actions).toEqual([
      expect.objectContaining({ type: 'Action.Execute', verb: 'remediation.create' }),
    ]);
  });

  it('tells a viewer that `remediate` needs the responder role', async () => {
    const reply = await say('remediate', VIEWER_AAD);
    expect(reply.text).toContain('You need the responder role');
  });

  it('creates the remediation once per invoke and answers with what was sent and left', async () => {
    // The requester once wrote to the bot directly: Vigil keeps that personal chat for notices.
    const personal = await post({
      ...message('help'),
      text: 'help',
      conversation: { id: PERSONAL, conversationType: 'personal', tenantId: TENANT },
      channelData: { tenant: { id: TENANT } },
    });
    expect(personal.status).toBe(200);
    const data = {
      form: 'remediation',
      recommendation: 'Patch OpenSSL to 3.0.15',
      devices: 'LAPTOP-01\nLAPTOP-02\n\nlaptop-01\nSERVER-9',
      due: inDays(10),
      priority: 'high',
      notes: 'CVE-2024-5535',
    };
    const id = `f:${crypto.randomUUID()}`;
    const card = await submit(data, { id });
    const text = cardJson(card);
    const rows = await remediations();
    expect(rows).toHaveLength(1);
    const row = rows[0] as Record<string, any>;
    expect(text).toContain(`Remediation R-${row.number} requested: 3 devices sent.`);
    expect(text).toContain('"title":"Left","value":"0 devices"');
    expect(text).toContain('2 blank or repeated lines');
    expect(row.device_count).toBe(3);
    expect(row.devices_left).toBe(0);
    expect(row.priority).toBe('high');
    expect(row.recommendation).toBe('Patch OpenSSL to 3.0.15');
    expect(row.notes).toBe('CVE-2024-5535');
    expect(row.requester_key).toBe(`teams:${ADMIN_AAD}`);

    // The requester hears in their personal chat with the bot (known from their earlier message there)
    // that the ticket was opened.
    const dm = await eventually(
      async () =>
        connector
          .posts(PERSONAL)
          .find((call) =>
            String(call.body.text).startsWith(`Remediation R-${row.number}: Remediation ticket`),
          ),
      15_000,
      'the ticket-opened message in the personal chat',
    );
    expect(dm.body.textFormat).toBe('plain');

    // Teams retries the same invoke: nothing new is created.
    const again = await submit(data, { id });
    expect(cardJson(again)).toContain(`Remediation R-${row.number} was already requested from this form`);
    expect(await remediations()).toHaveLength(1);
  });

  it('refuses a submission with a missing or invalid field, naming it, and creates nothing', async () => {
    const before = (await remediations()).length;
    let card = await submit({ recommendation: 'Rotate keys', devices: ' \n ', due: inDays(5) });
    expect(cardJson(card)).toContain('Not requested. Devices: name at least one device');
    // The form comes back filled in, so the person only fixes the field.
    expect(elementsOf(card).find((e) => e.id === 'recommendation')?.value).toBe('Rotate keys');
    expect(card.actions[0].verb).toBe('remediation.create');

    card = await submit({ recommendation: '  ', devices: 'HOST-1', due: inDays(5) });
    expect(cardJson(card)).toContain('Recommendation: say what should be fixed');
    card = await submit({ recommendation: 'Rotate keys', devices: 'HOST-1' });
    expect(cardJson(card)).toContain('Due date: pick a due date');
    card = await submit({ recommendation: 'Rotate keys', devices: 'HOST-1', due: inDays(-3) });
    expect(cardJson(card)).toContain('Due date: The due date must be at least an hour from now');
    card = await submit({
      recommendation: 'Rotate keys',
      devices: 'HOST-1',
      due: inDays(5),
      priority: 'urgent',
    });
    expect(cardJson(card)).toContain('Priority: choose Low, Medium, High or Critical');
    expect(await remediations()).toHaveLength(before);
  });

  it("refuses a viewer's submission with a card saying why, and creates nothing", async () => {
    const before = (await remediations()).length;
    const card = await submit(
      { recommendation: 'Wipe it', devices: 'HOST-1', due: inDays(5), priority: 'low' },
      { aad: VIEWER_AAD },
    );
    expect(cardJson(card)).toContain('Not requested: You need the responder role');
    expect(await remediations()).toHaveLength(before);
  });

  it('sends at most the per-request cap and says how many devices are left and how to send them', async () => {
    const devices = Array.from({ length: 10_003 }, (_, i) => `HOST-${i}`).join('\n');
    const card = await submit({ recommendation: 'Update agent', devices, due: inDays(20) });
    const text = cardJson(card);
    expect(text).toMatch(/Remediation R-\d+ requested: 10,000 devices sent\./);
    expect(text).toContain('"title":"Left","value":"3 devices"');
    expect(text).toContain('type **remediate** and request them again');
    expect(text).toContain('HOST-10000');
    const row = (await remediations()).find((r) => r.recommendation === 'Update agent') as Record<
      string,
      any
    >;
    expect(row.device_count).toBe(10_000);
    expect(row.devices_left).toBe(3);
  });

  it('lists the active remediations with due dates, and links the console export', async () => {
    const rows = await remediations();
    const reply = await say('remediations', VIEWER_AAD);
    expect(reply.text).toContain(`**Active remediations (${rows.length})**`);
    for (const row of rows as Record<string, any>[]) {
      expect(reply.text).toContain(`**R-${row.number}**`);
      expect(reply.text).toContain(`due ${new Date(row.due_at).toISOString().slice(0, 10)}`);
    }
    expect(reply.text).toContain('Patch OpenSSL to 3.0.15 · High · ');

    // Exporting every remediation needs the approver role: a viewer is refused, and it is audited.
    const refused = await say('remediations export', VIEWER_AAD);
    expect(refused.attachments).toBeUndefined();
    expect(refused.text).toContain('Not exported: You need the approver role to do that; you are a viewer.');
    const audit = await vigil.handle.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'remediation.export_refused')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor_key: `teams:${VIEWER_AAD}`,
      details: { platform: 'teams', conversationId: CHANNEL, role: 'viewer', needed: 'approver' },
    });

    const exported = await say('remediations export', ADMIN_AAD);
    const card = exported.attachments[0].content;
    expectValidCard(card);
    expect(card.actions).toEqual([
      {
        type: 'Action.OpenUrl',
        title: 'Open remediations in Vigil',
        url: `${PUBLIC_URL}/console/#/remediations`,
      },
    ]);
    expect(cardJson(card)).toContain('Export CSV');

    expect((await say('remediations maybe')).text).toContain('Usage');
    expect((await say('help')).text).toContain('**remediations export**');
  });
});

describe('Teams: completing a remediation and filing an exception', () => {
  const create = async () => {
    const created = await vigil.api('POST', '/api/remediations', {
      recommendation: 'Update Edge',
      devices: ['pc-31'],
      dueAt: new Date(Date.now() + 5 * 86_400_000).toISOString(),
    });
    expect(created.status).toBe(201);
    return (await json(created)).remediation as { id: string; number: string };
  };
  const stored = async (id: string) =>
    vigil.handle.db.selectFrom('remediations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('`remediation complete` marks it completed with the comment; a viewer is refused', async () => {
    const { id, number } = await create();
    expect((await say(`remediation complete R-${number}`, VIEWER_AAD)).text).toContain(
      'You need the responder role',
    );
    expect((await stored(id)).status).toBe('open');
    const reply = await say(`remediation complete R-${number} Pushed through Intune`);
    expect(reply.text).toBe(`Remediation R-${number} is marked completed.`);
    const row = await stored(id);
    expect(row.status).toBe('completed');
    expect(row.completion_comment).toBe('Pushed through Intune');
  });

  it('`remediation exception` files one with reason, justification and expiry; bad input is explained', async () => {
    const { id, number } = await create();
    expect((await say(`remediation exception R-${number} because 2099-01-01 no`)).text).toContain(
      '"because" is not an exception reason',
    );
    const reply = await say(
      `remediation exception R-${number} compensating_control ${inDays(30)} EDR blocks the exploit`,
    );
    expect(reply.text).toContain(`Remediation R-${number}: exception filed (`);
    const row = await stored(id);
    expect(row.status).toBe('exception');
    expect(row.exception_reason).toBe('compensating_control');
    expect(row.exception_justification).toBe('EDR blocks the exploit');
  });
});

describe('Teams: the commands Slack has, through the one command parser', () => {
  it('resolve, silence and oncall work as in Slack, with Teams words and the same role checks', async () => {
    expect((await say('oncall')).text).toContain('No on-call schedules yet');
    const schedule = await vigil.api('POST', '/api/schedules', {
      name: 'soc-primary',
      timeZone: 'UTC',
      rotations: [
        {
          name: 'all',
          handoff: 'weekly',
          handoffTime: '09:00',
          startDate: '2026-01-05',
          people: [{ name: 'Ana Lima', teams: ADMIN_AAD }],
        },
      ],
    });
    expect(schedule.status).toBe(201);
    expect((await say('oncall')).text).toContain('soc-primary*: Ana Lima');

    const ingested = await vigil.ingest('generic', {
      title: 'Test alert from Teams',
      source: 'idp',
      id: 'teams-cmd-1',
    });
    const { number } = (await json(ingested)).alerts[0] as { number: string };
    expect((await say(`resolve ${number} maybe`)).text).toBe(
      `"maybe" is not a classification. Usage: \`resolve <id or number> <true_positive|false_positive|expected> [comment]\``,
    );
    expect((await say(`resolve ${number} false_positive`, VIEWER_AAD)).text).toContain(
      'You need the responder role',
    );
    expect((await say(`resolve ${number} false_positive a scanner, not an attacker`)).text).toBe(
      `Alert #${number} resolved.`,
    );
    const alert = await vigil.handle.db
      .selectFrom('alerts')
      .select(['status', 'classification', 'resolution_comment'])
      .where('number', '=', number as never)
      .executeTakeFirstOrThrow();
    expect(alert).toEqual({
      status: 'resolved',
      classification: 'false_positive',
      resolution_comment: 'a scanner, not an attacker',
    });

    expect((await say('silence add 2h env=lab lab rebuild', VIEWER_AAD)).text).toContain(
      'You need the responder role',
    );
    const silenced = await say('silence add 2h env=lab lab rebuild');
    expect(silenced.text).toMatch(
      /^Silence `[0-9a-f-]{36}` mutes matching alerts until \d{4}-\d\d-\d\d \d\d:\d\d UTC\.$/,
    );
    const stored = await vigil.handle.db.selectFrom('silences').select(['comment', 'created_by']).execute();
    expect(stored).toMatchObject([
      { comment: 'lab rebuild', created_by: { kind: 'user', platform: 'teams', id: ADMIN_AAD } },
    ]);
    expect((await say('silence list')).text).toContain('env=lab');
  });
});

describe('Teams: Complete and File exception on a remediation notice', () => {
  const click = async (verb: string, data: Record<string, unknown>, aad = ADMIN_AAD) => {
    const response = await post({
      ...invoke({}, { aad }),
      conversation: { id: PERSONAL, conversationType: 'personal', tenantId: TENANT },
      value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
    });
    expect(response.status).toBe(200);
    const answer = await json(response);
    expect(answer.type).toBe('application/vnd.microsoft.card.adaptive');
    expectValidCard(answer.value);
    return answer.value as Record<string, any>;
  };
  const stored = async (id: string) =>
    vigil.handle.db.selectFrom('remediations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  /** A remediation requested from Teams: the requester's personal chat hears the ticket opened, with buttons. */
  async function noticeInPersonalChat(recommendation: string) {
    const personal = await post({
      ...message('help'),
      text: 'help',
      conversation: { id: PERSONAL, conversationType: 'personal', tenantId: TENANT },
      channelData: { tenant: { id: TENANT } },
    });
    expect(personal.status).toBe(200);
    await submit({ recommendation, devices: 'PC-77', due: inDays(10), priority: 'high' });
    const row = (await remediations()).find((r) => r.recommendation === recommendation) as Record<
      string,
      any
    >;
    const notices = () =>
      connector.posts(PERSONAL).filter((c) => String(c.body.text).startsWith(`Remediation R-${row.number}:`));
    const notice = await eventually(async () => notices()[0], 15_000, 'the ticket-opened notice');
    return { row, notice, notices };
  }

  it('Complete: the notice offers it; a viewer is refused and audited; a responder completes it', async () => {
    const { row, notice, notices } = await noticeInPersonalChat('Update Teams client');
    expect(notice.body.textFormat).toBe('plain');
    const card = notice.body.attachments[0].content;
    expect(notice.body.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    expectValidCard(card);
    const executes = elementsOf(card).filter((e) => e.type === 'Action.Execute');
    expect(executes.map((e) => [e.verb, e.title, e.data])).toEqual([
      ['remediation.complete', 'Complete', { remediationId: row.id }],
      ['remediation.exception', 'File exception', { remediationId: row.id }],
    ]);
    expect(card.actions.map((a: { type: string; title: string }) => [a.type, a.title])).toEqual([
      ['Action.ShowCard', 'Complete'],
      ['Action.ShowCard', 'File exception'],
    ]);

    const refused = await click(
      'remediation.complete',
      { remediationId: row.id, comment: 'done' },
      VIEWER_AAD,
    );
    expect(cardJson(refused)).toContain('Not completed: You need the responder role');
    // Refused: the buttons stay for someone who may press them.
    expect(elementsOf(refused).filter((e) => e.type === 'Action.Execute')).toHaveLength(2);
    expect((await stored(row.id)).status).toBe('open');
    const audit = await vigil.handle.db
      .selectFrom('audit_log')
      .select('actor_key')
      .where('action', '=', 'remediation.complete_refused')
      .where(sql<string>`details->>'remediationId'`, '=', row.id)
      .execute();
    expect(audit.map((a) => a.actor_key)).toEqual([`teams:${VIEWER_AAD}`]);

    const done = await click('remediation.complete', { remediationId: row.id, comment: 'Pushed via Intune' });
    expect(cardJson(done)).toContain(`Remediation R-${row.number} is marked completed.`);
    expect(done.actions).toBeUndefined();
    const completed = await stored(row.id);
    expect(completed.status).toBe('completed');
    expect(completed.completion_comment).toBe('Pushed via Intune');
    expect(completed.completed_by).toMatchObject({ kind: 'user', platform: 'teams', id: ADMIN_AAD });
    // The completed notice goes out to the personal chat, with nothing left to press.
    const heard = await eventually(
      async () => notices().find((c) => /complete/i.test(String(c.body.text))),
      15_000,
      'the completed notice',
    );
    expect(heard.body.attachments).toBeUndefined();
    // Completing again changes nothing and says so.
    expect(cardJson(await click('remediation.complete', { remediationId: row.id }))).toContain(
      'was already completed',
    );
  });

  it('once completed from anywhere (here the API), earlier notices lose Complete and File exception', async () => {
    const { row, notice } = await noticeInPersonalChat('Update the VPN client');
    expect(notice.body.attachments).toHaveLength(1);
    const updatesOfNotice = () =>
      connector.updates(PERSONAL).filter((call) => call.activityId === notice.answeredId);
    expect(updatesOfNotice()).toEqual([]);

    const completed = await vigil.api('POST', `/api/remediations/${row.id}/complete`, {
      comment: 'Patched by the vendor',
    });
    expect(completed.status).toBe(200);
    await completedNoticeDone(vigil, row.id);
    // The notice itself, replaced in place once: its sentence kept, its card of buttons gone.
    expect(updatesOfNotice()).toHaveLength(1);
    const replaced = updatesOfNotice()[0]?.body as Record<string, any>;
    expect(replaced).toMatchObject({ type: 'message', text: notice.body.text, textFormat: 'plain' });
    expect(replaced.attachments).toBeUndefined();
    const retired = await retiredNotices(vigil, row.id);
    expect(retired).toEqual([{ destination: `retired:${PERSONAL}|${notice.answeredId}`, error: null }]);
  });

  it('a notice someone deleted is given up alone: its conversation stays active', async () => {
    const { row, notice } = await noticeInPersonalChat('Update the printer firmware');
    // Teams answers an update of a deleted message with 404 ActivityNotFoundInConversation.
    connector.fail({
      status: 404,
      code: 'ActivityNotFoundInConversation',
      conversationId: PERSONAL,
      method: 'PUT',
    });
    expect((await vigil.api('POST', `/api/remediations/${row.id}/complete`, {})).status).toBe(200);
    await completedNoticeDone(vigil, row.id);
    expect(await retiredNotices(vigil, row.id)).toEqual([
      {
        destination: `retired:${PERSONAL}|${notice.answeredId}`,
        error: 'chat platform refused permanently: teams_message_404',
      },
    ]);
    const conversation = await vigil.handle.db
      .selectFrom('teams_conversations')
      .select('active')
      .where('id', '=', PERSONAL)
      .executeTakeFirstOrThrow();
    expect(conversation.active).toBe(true);
  });

  it('File exception: reason, day and justification from the form; a bad day is explained', async () => {
    const { row } = await noticeInPersonalChat('Update Office');
    const bad = await click('remediation.exception', {
      remediationId: row.id,
      reason: 'planned_remediation',
      expires: 'soon',
      justification: 'Later',
    });
    expect(cardJson(bad)).toContain('No exception filed: \\"soon\\" is not a date');
    expect((await stored(row.id)).status).toBe('open');
    const filed = await click('remediation.exception', {
      remediationId: row.id,
      reason: 'business_justification',
      expires: inDays(20),
      justification: 'Kiosk vendor certifies only v118',
    });
    expect(cardJson(filed)).toContain(`Remediation R-${row.number}: exception filed (`);
    const excepted = await stored(row.id);
    expect(excepted.status).toBe('exception');
    expect(excepted.exception_reason).toBe('business_justification');
    expect(excepted.exception_justification).toBe('Kiosk vendor certifies only v118');
  });
});
