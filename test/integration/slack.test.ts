import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARD_ACTIONS } from '../../src/bot/card-actions.js';
import { type FakeMessage, FakeSlackApi } from '../fakes/slack-api.js';
import { eventually, fixture, startTestVigil, type TestVigil } from '../helpers/harness.js';
import {
  commandBody,
  interactionBody,
  resolveFormValues,
  SLACK_TEST_SECRET,
  slackHeaders,
  slackTestEnv,
  viewSubmissionBody,
} from '../helpers/slack-signing.js';

const SECRET = SLACK_TEST_SECRET;
const ADMIN = 'U0ADMIN';
const VIEWER = 'U0VIEWER';
const CHANNEL = 'C0ALERTS';

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

type Form = 'application/x-www-form-urlencoded' | 'application/json';
function sendSlack(
  body: string,
  contentType: Form,
  options: { at?: number; secret?: string; headers?: Record<string, string> } = {},
) {
  return fetch(`${vigil.baseUrl}/slack/events`, {
    method: 'POST',
    headers: { ...slackHeaders(options.secret ?? SECRET, body, contentType, options.at), ...options.headers },
    body,
  });
}

/** A block_actions payload shaped like Slack's (see fixtures/slack/interactivity). */
function clickPayload(
  actionId: string,
  value: string,
  user: string,
  channel = CHANNEL,
  messageTs = '1700000001.000001',
) {
  return {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0TEAM' },
    api_app_id: 'A0VIGIL',
    token: 'verification_token',
    container: { type: 'message', message_ts: messageTs, channel_id: channel, is_ephemeral: false },
    trigger_id: `trigger-${Math.random()}`,
    team: { id: 'T0TEAM', domain: 'example' },
    channel: { id: channel, name: 'alerts' },
    response_url: `${fake.url}response`,
    actions: [
      {
        action_id: actionId,
        block_id: 'alert:x',
        text: { type: 'plain_text', text: 'Button', emoji: true },
        value,
        type: 'button',
        action_ts: '1700000002.000002',
      },
    ],
  };
}

const click = (actionId: string, alertId: string, version: number, user = ADMIN, channel = CHANNEL) =>
  sendSlack(
    interactionBody(clickPayload(actionId, `${alertId}:${version}`, user, channel)),
    'application/x-www-form-urlencoded',
  );

async function ingest(body: Record<string, unknown>): Promise<{ id: string; number: string }> {
  const response = await vigil.ingest('generic', body);
  expect(response.status).toBe(202);
  return ((await response.json()) as { alerts: { id: string; number: string }[] }).alerts[0] as {
    id: string;
    number: string;
  };
}

const alertRow = (id: string) =>
  vigil.handle.db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const auditOf = (id: string) =>
  vigil.handle.db.selectFrom('audit_log').selectAll().where('alert_id', '=', id).orderBy('id').execute();

/** The card Slack holds for an alert, once the pipeline has posted it. */
async function cardOf(alertId: string, channel = CHANNEL): Promise<FakeMessage> {
  return eventually(
    async () => {
      const row = await vigil.handle.db
        .selectFrom('cards')
        .selectAll()
        .where('alert_id', '=', alertId)
        .where('platform', '=', 'slack')
        .where('target', '=', channel)
        .executeTakeFirst();
      return row?.message_ref == null ? undefined : fake.messages.get(`${channel}/${row.message_ref}`);
    },
    15_000,
    `the Slack card of ${alertId}`,
  );
}

const buttonsOf = (message: FakeMessage): string[] =>
  (
    (
      message.blocks.find((block) => (block as { type: string }).type === 'actions') as {
        elements: { action_id: string }[];
      }
    )?.elements ?? []
  ).map((element) => element.action_id);

describe('cards', () => {
  it('posts a Graph alert as a card with its buttons, keeping ts as a string', async () => {
    const graph = JSON.parse(
      readFileSync(
        fixture('alerts/graph-security/alert.app-governance-oauth-evidence.recorded-swimlane.json'),
        'utf8',
      ),
    );
    const response = await vigil.ingest('graph', graph);
    expect(response.status).toBe(202);
    const { id } = ((await response.json()) as { alerts: { id: string }[] }).alerts[0] as { id: string };
    const card = await cardOf(id);
    expect(card.text).toContain('Dormant OAuth App');
    // The recorded alert names its Defender incident, so the card offers to resolve that too.
    expect(buttonsOf(card)).toEqual([
      CARD_ACTIONS.startProgress,
      CARD_ACTIONS.resolve,
      CARD_ACTIONS.assignToMe,
      CARD_ACTIONS.resolveIncident,
      'alert.open',
    ]);
    const row = await vigil.handle.db
      .selectFrom('cards')
      .selectAll()
      .where('alert_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.message_ref).toMatch(/^\d+\.\d{6}$/);
    const post = fake.callsOf('chat.postMessage').find((call) => call.args.channel === CHANNEL);
    expect(post?.token).toBe('xoxb-test');
  });

  it('neutralises mention injection in the posted blocks', async () => {
    const { id } = await ingest({
      title: '<!channel> pwned',
      description: '<@U123> <https://evil|click>',
      source: 'inject',
    });
    const card = await cardOf(id);
    // Slack parses control sequences in mrkdwn only; the header is plain_text, shown literally.
    const header = card.blocks[0] as { type: string; text: { type: string } };
    expect(header.text.type).toBe('plain_text');
    const mrkdwn = JSON.stringify(card.blocks.slice(1));
    expect(mrkdwn).not.toMatch(/<!channel>|<@U123>|<https:\/\/evil/);
    expect(mrkdwn).toContain('&lt;https://evil|click&gt;');
    expect(card.text).not.toContain('<!channel>');
  });
});

describe('clicks', () => {
  it('Mark in progress: acks at once, changes the alert, updates the card and tells the thread', async () => {
    const { id } = await ingest({ title: 'Click me', source: 'clicks' });
    const card = await cardOf(id);
    const started = Date.now();
    const response = await click(CARD_ACTIONS.startProgress, id, 1);
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);
    await eventually(async () => (await alertRow(id)).status === 'in_progress', 20_000, 'in progress');
    const updated = await eventually(
      async () => (JSON.stringify(card.blocks).includes('*In progress* by <@U0ADMIN>') ? card : undefined),
      15_000,
      'the updated card',
    );
    expect(buttonsOf(updated)).toEqual([CARD_ACTIONS.resolve, CARD_ACTIONS.assignToMe, 'alert.open']);
    const replies = await eventually(
      async () => {
        const found = fake.repliesTo(CHANNEL, card.ts);
        return found.length > 0 ? found : undefined;
      },
      15_000,
      'the thread reply',
    );
    expect(replies[0]?.text).toContain('<@U0ADMIN> changed the status to *In progress*');
    const audit = await auditOf(id);
    expect(audit.find((entry) => entry.action === 'alert.status_changed')?.actor_key).toBe(`slack:${ADMIN}`);
  });

  it('Resolve opens a modal whose submission resolves with classification and comment', async () => {
    const { id } = await ingest({ title: 'Resolve me', source: 'clicks' });
    await cardOf(id);
    const opened = fake.callsOf('views.open').length;
    expect((await click(CARD_ACTIONS.resolve, id, 1)).status).toBe(200);
    const call = await eventually(async () => fake.callsOf('views.open')[opened], 20_000, 'views.open');
    const view = call.args.view as { callback_id: string; private_metadata: string; blocks: unknown[] };
    expect(JSON.stringify(view.blocks)).toContain('false_positive');
    const submission = viewSubmissionBody(
      view,
      resolveFormValues({ text: 'False positive', value: 'false_positive' }, 'pen test'),
      ADMIN,
      { viewId: 'V111' },
    );
    const response = await sendSlack(submission, 'application/x-www-form-urlencoded');
    expect(response.status).toBe(200);
    await eventually(async () => (await alertRow(id)).status === 'resolved', 20_000, 'resolved');
    const row = await alertRow(id);
    expect(row.classification).toBe('false_positive');
    expect(row.resolution_comment).toBe('pen test');

    // A submission without a classification is answered with a field error, and changes nothing.
    const empty = viewSubmissionBody(view, {}, ADMIN, { viewId: 'V111' });
    const refused = await sendSlack(empty, 'application/x-www-form-urlencoded');
    expect(await refused.json()).toEqual({
      response_action: 'errors',
      errors: { classification: 'Pick a classification.' },
    });
  });

  it('refuses unsigned, badly signed and five-minute-old requests with 401, changing nothing', async () => {
    const { id } = await ingest({ title: 'Guarded', source: 'clicks' });
    const body = interactionBody(clickPayload(CARD_ACTIONS.startProgress, `${id}:1`, ADMIN));
    const form = 'application/x-www-form-urlencoded';
    const unsigned = await fetch(`${vigil.baseUrl}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': form },
      body,
    });
    const wrongSecret = await sendSlack(body, form, { secret: 'not-the-secret' });
    const old = await sendSlack(body, form, { at: Math.floor(Date.now() / 1000) - 301 });
    const tampered = await fetch(`${vigil.baseUrl}/slack/events`, {
      method: 'POST',
      headers: slackHeaders(SECRET, body, form),
      body: body.replace('start_progress', 'resolve'),
    });
    expect([unsigned.status, wrongSecret.status, old.status, tampered.status]).toEqual([401, 401, 401, 401]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await alertRow(id)).status).toBe('new');
    expect((await auditOf(id)).map((entry) => entry.action)).toEqual(['alert.created']);
  });

  it('answers a truncated payload with 400 and keeps serving', async () => {
    const truncated = readFileSync(
      fixture('malformed/slack.block_actions.truncated-payload.HANDMADE.form-urlencoded.txt'),
      'utf8',
    );
    const response = await sendSlack(truncated, 'application/x-www-form-urlencoded');
    expect(response.status).toBe(400);
    expect((await fetch(`${vigil.baseUrl}/healthz`)).status).toBe(200);
  });

  it("refuses a viewer's click with an ephemeral message and audits it", async () => {
    const { id } = await ingest({ title: 'Not yours', source: 'clicks' });
    const before = fake.callsOf('chat.postEphemeral').length;
    expect((await click(CARD_ACTIONS.startProgress, id, 1, VIEWER)).status).toBe(200);
    const ephemeral = await eventually(
      async () => fake.callsOf('chat.postEphemeral')[before],
      5000,
      'the ephemeral refusal',
    );
    expect(ephemeral.args).toMatchObject({ channel: CHANNEL, user: VIEWER });
    expect(String(ephemeral.args.text)).toContain('You need the responder role');
    const audit = await auditOf(id);
    expect(audit.at(-1)).toMatchObject({ action: 'alert.change_refused', actor_key: `slack:${VIEWER}` });
    expect(audit.at(-1)?.details).toMatchObject({ code: 'auth.forbidden', role: 'viewer' });
    expect((await alertRow(id)).status).toBe('new');
  });

  it('a double click (and a Slack retry) changes state once', async () => {
    const { id } = await ingest({ title: 'Twice', source: 'clicks' });
    const body = interactionBody(clickPayload(CARD_ACTIONS.assignToMe, `${id}:1`, ADMIN));
    const form = 'application/x-www-form-urlencoded';
    const answers = await Promise.all([
      sendSlack(body, form),
      sendSlack(body, form),
      sendSlack(body, form, {
        headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
      }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    await eventually(async () => (await alertRow(id)).assignee !== null, 20_000, 'assigned');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const audit = await auditOf(id);
    expect(audit.filter((entry) => entry.action === 'alert.assigned')).toHaveLength(1);
    expect((await alertRow(id)).version).toBe(2);
  });

  it('a stale click is refused, told, and the card refreshed', async () => {
    const { id } = await ingest({ title: 'Stale', source: 'clicks' });
    const card = await cardOf(id);
    expect((await vigil.api('POST', `/api/alerts/${id}/status`, { status: 'in_progress' })).status).toBe(200);
    await eventually(
      async () => JSON.stringify(card.blocks).includes('In progress'),
      15_000,
      'the first update',
    );
    const updatesBefore = fake.callsOf('chat.update').filter((call) => call.args.ts === card.ts).length;
    const ephemeralsBefore = fake.callsOf('chat.postEphemeral').length;
    // The person's client still showed version 1 and they ask to resolve via Assign: a conflict.
    expect((await click(CARD_ACTIONS.assignToMe, id, 1)).status).toBe(200);
    const told = await eventually(
      async () => fake.callsOf('chat.postEphemeral')[ephemeralsBefore],
      5000,
      'the stale notice',
    );
    expect(String(told.args.text)).toContain('changed since you saw it');
    await eventually(
      async () =>
        fake.callsOf('chat.update').filter((call) => call.args.ts === card.ts).length > updatesBefore,
      15_000,
      'the refresh',
    );
    expect((await alertRow(id)).assignee).toBeNull();
  });

  it('honours a 429 Retry-After and the update still lands', async () => {
    const { id } = await ingest({ title: 'Slow down', source: 'clicks' });
    const card = await cardOf(id);
    // Only this card's update: other tests' cards may be updated meanwhile.
    fake.failNext('chat.update', { status: 429, retryAfter: 1, when: (args) => args.ts === card.ts });
    expect((await click(CARD_ACTIONS.startProgress, id, 1)).status).toBe(200);
    await eventually(
      async () => JSON.stringify(card.blocks).includes('*In progress*'),
      20_000,
      'the update after 429',
    );
    const updates = fake.callsOf('chat.update').filter((call) => call.args.ts === card.ts);
    expect(updates.length).toBeGreaterThanOrEqual(2);
    // The retry came no sooner than Retry-After.
    expect((updates[1]?.at ?? 0) - (updates[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });
});

describe('events and commands', () => {
  it('answers url_verification with the challenge', async () => {
    const body = JSON.stringify({
      token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    });
    const response = await sendSlack(body, 'application/json');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
    });
  });

  const command = async (text: string, user = ADMIN) => {
    const body = commandBody({
      token: 'gIkuvaNzQIHg97ATvDxqgjtO',
      team_id: 'T0TEAM',
      team_domain: 'example',
      channel_id: CHANNEL,
      channel_name: 'alerts',
      user_id: user,
      user_name: user.toLowerCase(),
      command: '/vigil',
      text,
      response_url: `${fake.url}response`,
      trigger_id: '13345224609.738474920.8088930838d88f008e0',
      api_app_id: 'A0VIGIL',
    });
    const response = await sendSlack(body, 'application/x-www-form-urlencoded');
    expect(response.status).toBe(200);
    return (await response.json()) as { response_type: string; text: string; blocks?: unknown[] };
  };

  it('/vigil help, alerts and resolve', async () => {
    expect((await command('help')).text).toContain('/vigil resolve');
    const { number, id } = await ingest({ title: 'Listed alert', source: 'cmd', severity: 'critical' });
    const list = await command('alerts source=cmd');
    expect(list.response_type).toBe('ephemeral');
    expect(JSON.stringify(list.blocks)).toContain(`#${number}`);
    const usage = await command('resolve 1');
    expect(usage.text).toContain('Usage: `/vigil resolve');
    const denied = await command(`resolve ${number} fp`, VIEWER);
    expect(denied.text).toContain('responder role');
    const resolved = await command(`resolve ${number} fp noisy scanner`);
    expect(resolved.text).toContain(`Resolved #${number}`);
    const row = await alertRow(id);
    expect([row.status, row.classification, row.resolution_comment]).toEqual([
      'resolved',
      'false_positive',
      'noisy scanner',
    ]);
    const shown = await command(`alert ${number}`);
    expect(JSON.stringify(shown.blocks)).toContain('*Resolved* as False positive');
  });

  it('/vigil route add sends matching alerts to the route; admins only; API lists it', async () => {
    const refused = await command('route add <#C0ROUTE|identity> source=idp severity>=high', VIEWER);
    expect(refused.text).toContain('admin role');
    const added = await command(
      'route add <#C0ROUTE|identity> source=idp severity>=high label:team=identity',
    );
    expect(added.text).toContain('Route');
    const routes = (await (await vigil.api('GET', '/api/routes')).json()) as {
      routes: { id: string; channel: string }[];
    };
    expect(routes.routes.map((route) => route.channel)).toEqual(['C0ROUTE']);

    const matching = await ingest({
      title: 'Routed',
      source: 'idp',
      severity: 'critical',
      labels: { team: 'identity' },
    });
    const other = await ingest({
      title: 'Not routed',
      source: 'idp',
      severity: 'low',
      labels: { team: 'identity' },
    });
    await cardOf(matching.id, 'C0ROUTE');
    await cardOf(other.id, CHANNEL);
    const cards = await vigil.handle.db
      .selectFrom('cards')
      .select(['alert_id', 'target'])
      .where('alert_id', 'in', [matching.id, other.id])
      .execute();
    expect(
      cards.map((card) => `${card.alert_id === matching.id ? 'matching' : 'other'}:${card.target}`).sort(),
    ).toEqual(['matching:C0ROUTE', 'other:C0ALERTS']);
    expect((await command('route list')).text).toContain('C0ROUTE');
    const id = routes.routes[0]?.id ?? '';
    expect((await vigil.api('DELETE', `/api/routes/${id}`)).status).toBe(204);
    expect((await command(`route remove ${id}`)).text).toContain('No route');
  });

  it('/vigil role grants a role that then allows clicks', async () => {
    const granted = await command(`role <@U0NEWBIE|newbie> responder`);
    expect(granted.text).toContain('responder');
    const { id } = await ingest({ title: 'Now allowed', source: 'cmd' });
    await click(CARD_ACTIONS.startProgress, id, 1, 'U0NEWBIE');
    await eventually(
      async () => (await alertRow(id)).status === 'in_progress',
      5000,
      'changed by the new responder',
    );
  });

  it('App Home lists my assigned alerts', async () => {
    const { id, number } = await ingest({ title: 'Mine', source: 'home', severity: 'high' });
    await cardOf(id);
    await click(CARD_ACTIONS.assignToMe, id, 1);
    await eventually(async () => (await alertRow(id)).assignee !== null, 20_000, 'assigned');
    const before = fake.callsOf('views.publish').length;
    const event = {
      token: 'x',
      team_id: 'T0TEAM',
      api_app_id: 'A0VIGIL',
      type: 'event_callback',
      event_id: 'Ev0HOME',
      event_time: Math.floor(Date.now() / 1000),
      event: {
        type: 'app_home_opened',
        user: ADMIN,
        channel: 'D0HOME',
        tab: 'home',
        event_ts: '1700000000.000100',
      },
    };
    expect((await sendSlack(JSON.stringify(event), 'application/json')).status).toBe(200);
    const call = await eventually(async () => fake.callsOf('views.publish')[before], 20_000, 'views.publish');
    expect(call.args.user_id).toBe(ADMIN);
    expect(JSON.stringify(call.args.view)).toContain(`#${number}`);
  });
});

describe('storm', () => {
  it('2,000 alerts over 10 fingerprints into one channel: 10 cards, right counts, paced calls', async () => {
    const channel = 'C0STORM';
    expect((await vigil.api('POST', '/api/routes', { channel, sources: ['storm'] })).status).toBe(201);
    const started = Date.now();
    const batches = Array.from({ length: 20 }, (_, b) => ({
      alerts: Array.from({ length: 100 }, (_, i) => ({
        title: `Storm ${(b * 100 + i) % 10}`,
        fingerprint: `storm-${(b * 100 + i) % 10}`,
        source: 'storm',
        severity: 'high',
      })),
    }));
    const answers = await Promise.all(batches.map((batch) => vigil.ingest('generic', batch)));
    expect(answers.every((answer) => answer.status === 202)).toBe(true);
    const rows = await vigil.handle.db
      .selectFrom('alerts')
      .select(['id', 'occurrence_count'])
      .where('source', '=', 'storm')
      .execute();
    expect(rows).toHaveLength(10);
    expect(rows.every((row) => row.occurrence_count === 200)).toBe(true);

    await eventually(
      async () => {
        const cards = fake.cardsIn(channel);
        return (
          cards.length === 10 &&
          cards.every((card) => JSON.stringify(card.blocks).includes('*Occurrences*\\n200'))
        );
      },
      80_000,
      'ten cards showing 200 occurrences',
    );
    const elapsed = Date.now() - started;
    const posts = fake.callsOf('chat.postMessage').filter((call) => call.args.channel === channel);
    const updates = fake.callsOf('chat.update').filter((call) => call.args.channel === channel);
    expect(posts).toHaveLength(10);
    // The pacer hands out one slot a second per channel, so the k-th post cannot come before the
    // first one's slot plus k seconds. Each call reaches the fake some time after its slot (a busy
    // event loop delays one post more than the next), so two neighbours may arrive closer than a
    // second; the span cannot shrink by more than the first post's own delay (allowed 1 s here).
    // Unpaced, the ten posts would arrive within a few hundred milliseconds.
    const first = posts[0]?.at ?? 0;
    for (let i = 1; i < posts.length; i += 1) {
      expect((posts[i]?.at ?? 0) - first).toBeGreaterThanOrEqual(i * 1000 - 1000);
    }
    expect((posts.at(-1)?.at ?? 0) - first).toBeGreaterThanOrEqual(8_000);
    // Updates: at most one per card showing a stale count, and never faster than the 1.2 s workspace slot allows.
    expect(updates.length).toBeLessThanOrEqual(10);
    expect(updates.length).toBeLessThanOrEqual(Math.ceil(elapsed / 1150) + 1);
  }, 120_000);
});
