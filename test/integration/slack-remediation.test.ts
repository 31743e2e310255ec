import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlackApi } from '../fakes/slack-api.js';
import { eventually, startTestVigil, type TestVigil } from '../helpers/harness.js';
import { completedNoticeDone, retiredNotices } from '../helpers/remediation-notices.js';
import {
  buttonClickBody,
  commandBody,
  interactionBody,
  postSignedForm,
  SLACK_TEST_SECRET,
  slackTestEnv,
  viewSubmissionBody,
} from '../helpers/slack-signing.js';

const _SECRET = SLACK_TEST_SECRET;
const ADMIN = 'U0ADMIN';
const VIEWER = 'U0VIEWER';
const CHANNEL = 'C0REMEDIATE';

let fake: FakeSlackApi;
let vigil: TestVigil;

beforeAll(async () => {
  fake = await new FakeSlackApi().start();
  vigil = await startTestVigil({
    env: {
      ...slackTestEnv(fake.url, CHANNEL, ADMIN),
    },
  });
});
afterAll(async () => {
  await vigil?.close();
  await fake?.stop();
});

const sendSlack = (body: string) => postSignedForm(vigil.baseUrl, body);

const command = async (text: string, user = ADMIN) => {
  const response = await sendSlack(
    commandBody({
      token: 'gIkuvaNzQIHg97ATvDxqgjtO',
      team_id: 'T0TEAM',
      team_domain: 'example',
      channel_id: CHANNEL,
      channel_name: 'remediate',
      user_id: user,
      user_name: user.toLowerCase(),
      command: '/vigil',
      text,
      response_url: `${fake.url}response`,
      trigger_id: `trigger-${Math.random()}`,
      api_app_id: 'A0VIGIL',
    }),
  );
  expect(response.status).toBe(200);
  const raw = await response.text();
  return (raw === '' ? {} : JSON.parse(raw)) as { response_type?: string; text?: string; blocks?: unknown[] };
};

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

function submission(
  view: { callback_id: string; private_metadata: string; blocks: unknown[] },
  values: { recommendation: string; devices: string; due: string | null; priority: string; notes?: string },
  viewId = `V${Math.random().toString(36).slice(2, 12).toUpperCase()}`,
) {
  return interactionBody({
    type: 'view_submission',
    team: { id: 'T0TEAM', domain: 'example' },
    user: { id: ADMIN, username: 'admin', name: 'admin', team_id: 'T0TEAM' },
    api_app_id: 'A0VIGIL',
    token: 'verification_token',
    trigger_id: '111.222.valid',
    view: {
      id: viewId,
      team_id: 'T0TEAM',
      type: 'modal',
      blocks: view.blocks,
      private_metadata: view.private_metadata,
      callback_id: view.callback_id,
      state: {
        values: {
          recommendation: { recommendation: { type: 'plain_text_input', value: values.recommendation } },
          devices: { devices: { type: 'plain_text_input', value: values.devices } },
          due: { due: { type: 'datepicker', selected_date: values.due } },
          priority: {
            priority: {
              type: 'static_select',
              selected_option: {
                text: { type: 'plain_text', text: values.priority },
                value: values.priority,
              },
            },
          },
          notes: { notes: { type: 'plain_text_input', value: values.notes ?? null } },
        },
      },
      hash: '1596530361.3wRYuk3R',
    },
    response_urls: [],
  });
}

describe('remediation from Slack', () => {
  it('/vigil remediate opens the form; a submission creates the remediation and tells the requester', async () => {
    expect((await command('remediate', VIEWER)).text).toContain('responder role');
    const opened = fake.callsOf('views.open').length;
    await command('remediate');
    const call = await eventually(async () => fake.callsOf('views.open')[opened], 20_000, 'views.open');
    const view = call.args.view as { callback_id: string; private_metadata: string; blocks: unknown[] };
    expect(JSON.stringify(view.blocks)).toContain('datepicker');

    const past = await sendSlack(
      submission(view, { recommendation: 'Patch', devices: 'pc-1', due: inDays(-2), priority: 'high' }),
    );
    expect(await past.json()).toMatchObject({
      response_action: 'errors',
      errors: { due: expect.any(String) },
    });
    const noDevices = await sendSlack(
      submission(view, { recommendation: 'Patch', devices: '\n  \n', due: inDays(5), priority: 'high' }),
    );
    expect(await noDevices.json()).toMatchObject({
      response_action: 'errors',
      errors: { devices: expect.any(String) },
    });

    const ephemerals = fake.callsOf('chat.postEphemeral').length;
    const viewId = 'V0REMEDIATE1';
    const body = submission(
      view,
      {
        recommendation: 'Update Chrome to 131',
        devices: 'pc-1\npc-2\n\npc-1\nLAPTOP-9',
        due: inDays(10),
        priority: 'critical',
        notes: 'actively exploited',
      },
      viewId,
    );
    expect((await sendSlack(body)).status).toBe(200);
    const told = await eventually(
      async () =>
        fake
          .callsOf('chat.postEphemeral')
          .slice(ephemerals)
          .find((c) => c.args.user === ADMIN),
      5000,
      'the ephemeral answer',
    );
    expect(told.args.channel).toBe(CHANNEL);
    expect(String(told.args.text)).toMatch(
      /Remediation R-\d+ requested: 3 devices sent\. 2 blank or repeated lines ignored/,
    );
    const rows = await vigil.handle.db.selectFrom('remediations').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      recommendation: 'Update Chrome to 131',
      device_count: 3,
      devices_left: 0,
      priority: 'critical',
      notes: 'actively exploited',
      requester_key: `slack:${ADMIN}`,
    });
    // The requester hears in a direct message that the ticket was opened.
    const dm = await eventually(
      async () =>
        fake
          .callsOf('chat.postMessage')
          .find((c) => c.args.channel === ADMIN && String(c.args.text).includes('ticket')),
      15_000,
      'the ticket-opened direct message',
    );
    expect(String(dm.args.text)).toMatch(/^Remediation R-\d+: Remediation ticket .* opened/);
    // Slack retries a submission it got no answer to: the same view creates nothing twice.
    expect((await sendSlack(body)).status).toBe(200);
    await eventually(
      async () =>
        fake
          .callsOf('chat.postEphemeral')
          .slice(ephemerals)
          .filter((c) => c.args.user === ADMIN).length === 2,
      5000,
      'the second answer',
    );
    expect(await vigil.handle.db.selectFrom('remediations').selectAll().execute()).toHaveLength(1);
  });

  it('/vigil remediations lists the active ones with due dates; export uploads the CSV to the channel', async () => {
    const created = await vigil.api('POST', '/api/remediations', {
      recommendation: 'Remove <!channel> toolbar',
      devices: ['pc-7'],
      dueAt: new Date(Date.now() + 3 * 86_400_000).toISOString(),
      priority: 'low',
    });
    expect(created.status).toBe(201);
    const list = await command('remediations', VIEWER);
    const shown = JSON.stringify(list.blocks);
    expect(shown).toContain('Active remediations (2)');
    expect(shown).toContain('Update Chrome to 131');
    expect(shown).toContain('&lt;!channel&gt;');
    expect(shown).toMatch(/due <!date\^\d+\^/);
    // Soonest due first.
    expect(shown.indexOf('toolbar')).toBeLessThan(shown.indexOf('Chrome'));

    // Exporting every remediation into a channel needs the approver role: a viewer is refused and audited.
    const refused = await command('remediations export', VIEWER);
    expect(refused.text).toBe(
      ':no_entry: You need the approver role to do that; you are a viewer. Ask a Vigil admin.',
    );
    const audit = await vigil.handle.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'remediation.export_refused')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor_key: `slack:${VIEWER}`,
      details: { platform: 'slack', channel: CHANNEL, role: 'viewer', needed: 'approver' },
    });
    expect(fake.callsOf('files.getUploadURLExternal')).toEqual([]);

    const exportFiles = async () =>
      new Set((await readdir(tmpdir())).filter((name) => name.startsWith('vigil-export-')));
    const earlier = await exportFiles();
    const reply = await command('remediations export');
    expect(reply.text).toContain('Exporting');
    const complete = await eventually(
      async () => fake.callsOf('files.completeUploadExternal')[0],
      20_000,
      'files.completeUploadExternal',
    );
    expect(complete.args.channel_id).toBe(CHANNEL);
    const reserve = fake.callsOf('files.getUploadURLExternal')[0];
    expect(reserve?.args.filename).toMatch(/^remediations-\d{4}-\d{2}-\d{2}\.csv$/);
    const file = [...fake.files.values()][0];
    expect(file?.channel).toBe(CHANNEL);
    expect(file?.bytes?.length).toBe(Number(reserve?.args.length));
    const csv = file?.bytes?.toString('utf8') ?? '';
    expect(csv.split('\n')[0]).toContain('number,id,status,priority,recommendation');
    expect(csv).toContain('Update Chrome to 131');
    expect(csv).toContain('toolbar');
    // The CSV went through a temporary file (so memory holds a page, not the export): it is gone.
    await eventually(
      async () => [...(await exportFiles())].every((name) => earlier.has(name)),
      5_000,
      'the export file removed',
    );
    expect((await command('remediations maybe')).text).toContain('Usage');
  });
});

describe('completing a remediation and filing an exception from Slack', () => {
  const create = async () => {
    const created = await vigil.api('POST', '/api/remediations', {
      recommendation: 'Update Firefox',
      devices: ['pc-41'],
      dueAt: new Date(Date.now() + 5 * 86_400_000).toISOString(),
    });
    expect(created.status).toBe(201);
    return ((await created.json()) as { remediation: { id: string; number: string } }).remediation;
  };
  const stored = async (id: string) =>
    vigil.handle.db.selectFrom('remediations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('/vigil remediation complete marks it completed with the comment; a viewer is refused and audited', async () => {
    const { id, number } = await create();
    expect((await command(`remediation complete R-${number}`, VIEWER)).text).toContain('responder role');
    expect((await stored(id)).status).toBe('open');
    const refused = await vigil.handle.db
      .selectFrom('audit_log')
      .select('actor_key')
      .where('action', '=', 'remediation.complete_refused')
      .execute();
    expect(refused.map((row) => row.actor_key)).toContain(`slack:${VIEWER}`);
    const answer = await command(`remediation complete R-${number} Pushed through Intune`);
    expect(answer.text).toBe(`:white_check_mark: Remediation R-${number} is marked completed.`);
    const row = await stored(id);
    expect(row.status).toBe('completed');
    expect(row.completion_comment).toBe('Pushed through Intune');
    expect(row.completed_by).toMatchObject({ kind: 'user', platform: 'slack', id: ADMIN });
  });

  it('/vigil remediation exception files one with reason, justification and expiry; bad input is explained', async () => {
    const { id, number } = await create();
    expect(
      (await command(`remediation exception R-${number} planned_remediation 2001-01-01 Later`)).text,
    ).toContain('future');
    expect(
      (await command(`remediation exception R-${number} planned_remediation soon Later`)).text,
    ).toContain('is not a date');
    const answer = await command(
      `remediation exception R-${number} business_justification ${inDays(20)} Kiosk vendor certifies only v118`,
    );
    expect(answer.text).toContain(`Remediation R-${number}: exception filed (`);
    const row = await stored(id);
    expect(row.status).toBe('exception');
    expect(row.exception_reason).toBe('business_justification');
    expect(row.exception_justification).toBe('Kiosk vendor certifies only v118');
  });
});

describe('Complete and File exception on a remediation notice in Slack', () => {
  const cardOf = async (alertId: string) =>
    eventually(
      async () =>
        (
          await vigil.handle.db
            .selectFrom('cards')
            .select('message_ref')
            .where('alert_id', '=', alertId)
            .where('platform', '=', 'slack')
            .executeTakeFirst()
        )?.message_ref ?? undefined,
      15_000,
      'the Slack card',
    );

  /** A remediation filed from an alert: its ticket-opened notice lands in the card's thread. */
  const noticeInThread = async () => {
    const ingested = await vigil.ingest('generic', {
      title: 'Chrome zero-day on finance laptops',
      severity: 'high',
      source: 'tvm',
      id: `notice-${Math.random()}`,
    });
    const alertId = ((await ingested.json()) as { alerts: { id: string }[] }).alerts[0]?.id as string;
    const ts = await cardOf(alertId);
    const created = await vigil.api('POST', '/api/remediations', {
      recommendation: 'Update Chrome to 131',
      devices: ['fin-lt-1'],
      dueAt: new Date(Date.now() + 5 * 86_400_000).toISOString(),
      alertId,
    });
    expect(created.status).toBe(201);
    const remediation = ((await created.json()) as { remediation: { id: string; number: string } })
      .remediation;
    const notices = () =>
      fake.repliesTo(CHANNEL, ts).filter((m) => m.text.includes(`R-${remediation.number}:`));
    const notice = await eventually(async () => notices()[0], 15_000, 'the ticket-opened notice');
    return { remediation, notice, notices };
  };

  const buttonsOf = (blocks: unknown[]) =>
    (blocks as { type: string; elements?: { action_id: string; value: string; text: { text: string } }[] }[])
      .filter((block) => block.type === 'actions')
      .flatMap((block) => block.elements ?? []);

  /** Clicks a notice's button as `user`; returns the modal Slack was asked to open. */
  const openForm = async (actionId: string, value: string, user: string) => {
    const opened = fake.callsOf('views.open').length;
    expect((await sendSlack(buttonClickBody(fake.url, CHANNEL, actionId, value, user))).status).toBe(200);
    const call = await eventually(async () => fake.callsOf('views.open')[opened], 10_000, 'views.open');
    return call.args.view as {
      callback_id: string;
      private_metadata: string;
      blocks: { block_id: string }[];
    };
  };

  /** Submits the modal with `values` by block ID (text, a picked option or a picked date). */
  const submitForm = async (
    view: Awaited<ReturnType<typeof openForm>>,
    user: string,
    values: Record<string, { text?: string; option?: string; date?: string }>,
  ) => {
    const ephemerals = fake.callsOf('chat.postEphemeral').length;
    const state = Object.fromEntries(
      Object.entries(values).map(([id, value]) => [
        id,
        {
          [id]:
            value.option !== undefined
              ? {
                  type: 'static_select',
                  selected_option: { text: { type: 'plain_text', text: value.option }, value: value.option },
                }
              : value.date !== undefined
                ? { type: 'datepicker', selected_date: value.date }
                : { type: 'plain_text_input', value: value.text ?? null },
        },
      ]),
    );
    const body = viewSubmissionBody(view, state, user);
    expect((await sendSlack(body)).status).toBe(200);
    const told = await eventually(
      async () =>
        fake
          .callsOf('chat.postEphemeral')
          .slice(ephemerals)
          .find((c) => c.args.user === user),
      10_000,
      'the answer to the person',
    );
    expect(told.args.channel).toBe(CHANNEL);
    return String(told.args.text);
  };

  const stored = async (id: string) =>
    vigil.handle.db.selectFrom('remediations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('Complete: a viewer is refused and audited; a responder completes it, and the thread hears so', async () => {
    const { remediation, notice, notices } = await noticeInThread();
    expect(buttonsOf(notice.blocks).map((b) => [b.action_id, b.text.text, b.value])).toEqual([
      ['remediation.complete', 'Complete', remediation.id],
      ['remediation.exception', 'File exception', remediation.id],
    ]);

    const viewerForm = await openForm('remediation.complete', remediation.id, VIEWER);
    expect(viewerForm.blocks.map((block) => block.block_id)).toEqual(['comment']);
    expect(await submitForm(viewerForm, VIEWER, { comment: { text: 'done' } })).toBe(
      ':no_entry: Not completed: You need the responder role to do that; you are a viewer. Ask a Vigil admin.',
    );
    expect((await stored(remediation.id)).status).toBe('open');
    const refused = await vigil.handle.db
      .selectFrom('audit_log')
      .select('actor_key')
      .where('action', '=', 'remediation.complete_refused')
      .where(sql<string>`details->>'remediationId'`, '=', remediation.id)
      .execute();
    expect(refused.map((row) => row.actor_key)).toEqual([`slack:${VIEWER}`]);

    const form = await openForm('remediation.complete', remediation.id, ADMIN);
    expect(await submitForm(form, ADMIN, { comment: { text: 'Pushed through Intune' } })).toBe(
      `:white_check_mark: Remediation R-${remediation.number} is marked completed.`,
    );
    const row = await stored(remediation.id);
    expect(row.status).toBe('completed');
    expect(row.completion_comment).toBe('Pushed through Intune');
    expect(row.completed_by).toMatchObject({ kind: 'user', platform: 'slack', id: ADMIN });
    // The completed notice follows in the thread, with nothing left to press.
    const completed = await eventually(
      async () => notices().find((m) => /complete/i.test(m.text)),
      15_000,
      'the completed notice',
    );
    expect(buttonsOf(completed.blocks)).toEqual([]);
  });

  it('File exception: the form asks reason, day and justification; the remediation is excepted', async () => {
    const { remediation } = await noticeInThread();
    const form = await openForm('remediation.exception', remediation.id, ADMIN);
    expect(form.blocks.map((block) => block.block_id)).toEqual(['reason', 'expires', 'justification']);
    expect(
      await submitForm(form, ADMIN, {
        reason: { option: 'planned_remediation' },
        expires: { date: '2001-01-01' },
        justification: { text: 'Later' },
      }),
    ).toMatch(/^:warning: No exception filed: .*future/);
    expect((await stored(remediation.id)).status).toBe('open');
    const answer = await submitForm(form, ADMIN, {
      reason: { option: 'compensating_control' },
      expires: { date: inDays(30) },
      justification: { text: 'EDR blocks the exploit' },
    });
    expect(answer).toContain(`Remediation R-${remediation.number}: exception filed (Compensating control)`);
    const row = await stored(remediation.id);
    expect(row.status).toBe('exception');
    expect(row.exception_reason).toBe('compensating_control');
    expect(row.exception_justification).toBe('EDR blocks the exploit');
  });

  it('once completed from anywhere (here the API), earlier notices lose Complete and File exception', async () => {
    const { remediation, notice } = await noticeInThread();
    const text = notice.text;
    expect(buttonsOf(notice.blocks)).toHaveLength(2);
    const updatesOfNotice = () => fake.callsOf('chat.update').filter((call) => call.args.ts === notice.ts);
    expect(updatesOfNotice()).toEqual([]);

    const completed = await vigil.api('POST', `/api/remediations/${remediation.id}/complete`, {
      comment: 'Patched by the vendor',
    });
    expect(completed.status).toBe(200);
    await completedNoticeDone(vigil, remediation.id);
    // The notice's own message, its sentence kept and its buttons gone, changed once.
    expect(buttonsOf(notice.blocks)).toEqual([]);
    expect(notice.text).toBe(text);
    expect(updatesOfNotice()).toHaveLength(1);
    expect(updatesOfNotice()[0]?.args).toMatchObject({ channel: CHANNEL, text, blocks: [] });
    const retired = await retiredNotices(vigil, remediation.id);
    expect(retired).toEqual([{ destination: `retired:${CHANNEL}:${notice.ts}`, error: null }]);
  });
});
