import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/domain/index.js';
import { FakeBotConnector } from '../fakes/bot-connector.js';
import { FakeSlackApi } from '../fakes/slack-api.js';
import { eventually, startTestVigil, type TestVigil } from '../helpers/harness.js';
import { SLACK_TEST_SECRET } from '../helpers/slack-signing.js';

/**
 * Remediation notices reach people: the alert's channel on each platform (a reply in the Slack
 * card's thread, a reply to the Teams card) hears of the ticket opened, the reminder, overdue and
 * completed, each once per platform, even when the other platform fails. Reminder and overdue
 * come from Vigil's injectable clock, never from waiting.
 */
const SLACK_CHANNEL = 'C0NOTICES';
const TEAMS_CHANNEL = '19:0b7e57b1a0c84a1e9d5d5c1f4a7e7c11@thread.tacv2';
const BOT = { id: '28:57627569-c120-42a1-9e6f-7cb4b96cc8ef', name: 'Vigil' };
const TEAMS_ADMIN = '7a9b12a6-4f02-43f1-b6f9-fd10e047f903';
const DAY = 86_400_000;
// Vigil's clock starts at the real time so delayed outbox rows (judged by Postgres's clock) line up.
const clock = fixedClock(new Date(Math.floor(Date.now() / 1000) * 1000));

let slack: FakeSlackApi;
let teams: FakeBotConnector;
let vigil: TestVigil;

beforeAll(async () => {
  slack = await new FakeSlackApi().start();
  teams = await new FakeBotConnector().start();
  vigil = await startTestVigil({
    clock,
    env: {
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: SLACK_TEST_SECRET,
      SLACK_API_URL: slack.url,
      SLACK_ALERT_CHANNEL: SLACK_CHANNEL,
      VIGIL_TEAMS_DEV: '1',
      VIGIL_PUBLIC_URL: 'https://vigil.example',
      VIGIL_ADMINS: `teams:${TEAMS_ADMIN}`,
    },
    relayTimings: { pollMs: 100 },
  });
  const activity = (body: Record<string, unknown>) =>
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
  expect((await activity({ type: 'conversationUpdate', membersAdded: [{ id: BOT.id }] })).status).toBe(200);
  expect((await activity({ type: 'message', id: '1', text: `<at>${BOT.name}</at> subscribe` })).status).toBe(
    200,
  );
});
afterAll(async () => {
  await vigil?.close();
  await teams?.stop();
  await slack?.stop();
});

/** An alert with its card on both platforms. */
async function alertOnBoth() {
  const response = await vigil.ingest('generic', {
    title: 'Chrome zero-day on finance laptops',
    severity: 'high',
    source: 'tvm',
    id: `${Math.random()}`,
  });
  const { id } = ((await response.json()) as { alerts: { id: string }[] }).alerts[0] as { id: string };
  return eventually(
    async () => {
      const rows = await vigil.handle.db.selectFrom('cards').selectAll().where('alert_id', '=', id).execute();
      const slackTs = rows.find((r) => r.platform === 'slack')?.message_ref;
      const teamsId = rows.find((r) => r.platform === 'teams')?.message_ref;
      return slackTs != null && teamsId != null ? { id, slackTs, teamsId } : undefined;
    },
    15_000,
    'cards on both platforms',
  );
}

/** Lets delayed outbox rows of one kind run now: Postgres's time is not driven by the test's clock. */
async function releaseDelayed(remediationId: string, kind: string): Promise<void> {
  await sql`UPDATE outbox SET available_at = now() WHERE enqueued_at IS NULL
    AND payload->>'remediationId' = ${remediationId} AND payload->>'kind' = ${kind}`.execute(vigil.handle.db);
  vigil.relay?.kick();
}

describe('remediation notices in the alert’s channels', () => {
  it('tell both platforms of ticket opened, reminder, overdue and completed, once each', async () => {
    const card = await alertOnBoth();
    const created = await vigil.api('POST', '/api/remediations', {
      recommendation: 'Update Chrome to 131',
      devices: ['fin-lt-1', 'fin-lt-2'],
      dueAt: new Date(clock.now().getTime() + 3 * DAY).toISOString(),
      priority: 'high',
      alertId: card.id,
    });
    expect(created.status).toBe(201);
    const remediation = ((await created.json()) as { remediation: { id: string; number: string } })
      .remediation;
    const slackReplies = () =>
      slack.repliesTo(SLACK_CHANNEL, card.slackTs).filter((m) => m.text.includes(`R-${remediation.number}:`));
    const teamsReplies = () =>
      teams
        .posts(TEAMS_CHANNEL)
        .filter(
          (c) => c.activityId === card.teamsId && String(c.body.text).includes(`R-${remediation.number}:`),
        );
    const heard = async (words: RegExp, count: number) => {
      await eventually(
        async () => slackReplies().length >= count && teamsReplies().length >= count,
        15_000,
        `notice ${count} on both platforms`,
      );
      expect(slackReplies()[count - 1]?.text).toMatch(words);
      expect(String(teamsReplies()[count - 1]?.body.text)).toMatch(words);
    };
    await heard(/ticket .* opened/i, 1);
    // The replies link to the console's remediation page, never to the API.
    expect(slackReplies()[0]?.text).toContain('https://vigil.example/console/#/remediations');

    // The reminder, a day before the due date; Teams fails once meanwhile: Slack is not told twice.
    clock.advance(2 * DAY);
    teams.fail({ status: 500, conversationId: TEAMS_CHANNEL });
    try {
      await releaseDelayed(remediation.id, 'reminder');
      await heard(/due/i, 2);
    } finally {
      clock.advance(-2 * DAY);
    }
    // Overdue at the due date.
    clock.advance(3 * DAY);
    try {
      await releaseDelayed(remediation.id, 'overdue');
      await heard(/overdue/i, 3);
    } finally {
      clock.advance(-3 * DAY);
    }
    const completed = await vigil.api('POST', `/api/remediations/${remediation.id}/complete`, {
      comment: 'Pushed through Intune',
    });
    expect(completed.status).toBe(200);
    await heard(/complete/i, 4);
    // Each notice once per platform, the one Teams refused included.
    await eventually(
      async () =>
        (
          await vigil.handle.db
            .selectFrom('audit_log')
            .select('id')
            .where('action', '=', 'remediation.notice_sent')
            .where(sql<string>`details->>'remediationId'`, '=', remediation.id)
            .execute()
        ).length === 4,
      15_000,
      'four notices on the trail',
    );
    expect(slackReplies()).toHaveLength(4);
    expect(teamsReplies()).toHaveLength(4);
    const refused = teams.calls.filter(
      (c) => c.status === 500 && c.activityId === card.teamsId && String(c.body.text).includes('R-'),
    );
    expect(refused).toHaveLength(1);
    const deliveries = await vigil.handle.db
      .selectFrom('remediation_notice_deliveries')
      .select(['platform', 'kind', 'destination'])
      .where('remediation_id', '=', remediation.id)
      .where('platform', 'in', ['slack', 'teams'])
      .execute();
    const retired = deliveries.filter((row) => row.destination.startsWith('retired:'));
    expect(deliveries.length - retired.length).toBe(8);
    // Completed: the three notices on each platform that offered Complete and File exception offer nothing now.
    expect(retired.map((row) => `${row.platform} ${row.kind}`).sort()).toEqual([
      ...Array(3).fill('slack completed'),
      ...Array(3).fill('teams completed'),
    ]);
    expect(
      slackReplies().map((m) => m.blocks.filter((b) => (b as { type: string }).type === 'actions')),
    ).toEqual([[], [], [], []]);
    const [opened, reminder, overdue, done] = teamsReplies();
    expect(done?.body.attachments).toBeUndefined();
    for (const notice of [opened, reminder, overdue]) {
      expect(notice?.body.attachments).toHaveLength(1);
      const updates = teams.updates(TEAMS_CHANNEL).filter((c) => c.activityId === notice?.answeredId);
      expect(updates.map((c) => [c.body.text, c.body.attachments])).toEqual([[notice?.body.text, undefined]]);
    }
  });
});
