import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/domain/index.js';
import { applyPoliciesFile } from '../../src/storage/policy.repository.js';
import { FakeBotConnector } from '../fakes/bot-connector.js';
import { FakeSlackApi } from '../fakes/slack-api.js';
import {
  deleteRedisKeys,
  dropSchema,
  eventually,
  startTestVigil,
  type TestVigil,
} from '../helpers/harness.js';
import { personOf } from '../helpers/people.js';
import { commandBody, slackHeaders } from '../helpers/slack-signing.js';

// Escalation end to end: three levels by direct message on Slack and Teams, acknowledgement,
// and a worker restart (with Redis flushed) in the middle of a page.
const ANN = 'U0ANN';
const BOB = 'U0BOB';
const DEE = 'U0DEE';
const CY_AAD = '3f2d1c0b-aaaa-bbbb-cccc-0123456789ab';
const CY_CONVERSATION = 'a:personal-chat-with-cy';

let slack: FakeSlackApi;
let teams: FakeBotConnector;
// Time is this clock for Vigil; outbox rows due later are brought forward by the same amount (see `advance`).
const clock = fixedClock(new Date());

const env = () => ({
  SLACK_BOT_TOKEN: 'xoxb-test',
  SLACK_SIGNING_SECRET: 'slack-signing-secret-for-tests',
  SLACK_API_URL: slack.url,
  SLACK_ALERT_CHANNEL: 'C0ALERTS',
  VIGIL_TEAMS_DEV: '1',
});
const relayTimings = { pollMs: 100, redriveAfterMs: 1_500, redriveEveryMs: 500 };

const FILE = {
  policies: [
    {
      name: 'Page on critical',
      enabled: true,
      conditions: { severityAtLeast: 'critical' as const },
      actions: [{ type: 'page' as const, escalationPolicy: 'secops' }],
    },
  ],
  schedules: [
    {
      name: 'secops-primary',
      timeZone: 'Europe/Paris',
      // Ann alone in the rotation, so she is on call whatever the hour the test runs.
      rotations: [
        {
          name: 'primary',
          handoff: 'weekly' as const,
          handoffTime: '00:00',
          startDate: '2020-01-06',
          people: [{ name: 'Ann', slack: ANN }],
        },
      ],
    },
  ],
  escalationPolicies: [
    {
      name: 'secops',
      repeat: 0,
      levels: [
        {
          targets: [
            { type: 'schedule' as const, schedule: 'secops-primary' },
            { type: 'person' as const, person: { name: 'Cy', teams: CY_AAD } },
          ],
          waitMinutes: 5,
        },
        { targets: [{ type: 'person' as const, person: { name: 'Bob', slack: BOB } }], waitMinutes: 10 },
        { targets: [{ type: 'person' as const, person: { name: 'Dee', slack: DEE } }], waitMinutes: 5 },
      ],
    },
  ],
};

async function setUp(vigil: TestVigil): Promise<void> {
  await applyPoliciesFile(vigil.handle, FILE, { kind: 'system' }, clock.now(), { dryRun: false });
  // Cy installed the bot personally: Vigil stored that chat (as the Teams adapter does on install).
  await vigil.handle.db
    .insertInto('teams_conversations')
    .values({ id: CY_CONVERSATION, kind: 'personal', service_url: teams.url, user_aad_object_id: CY_AAD })
    .execute();
}

/**
 * Moves time on: the clock, and every escalation row now due by that clock is made due for the
 * relay (which compares with Postgres' own now()).
 */
async function advance(vigil: TestVigil, minutes: number): Promise<void> {
  clock.advance(minutes * 60_000);
  await sql`UPDATE outbox SET available_at = now()
    WHERE topic = 'escalate' AND enqueued_at IS NULL AND available_at <= ${clock.now()}`.execute(
    vigil.handle.db,
  );
}

// Alerts are told apart by title: numbers restart in every test schema, the fakes are shared.
const dmsTo = (user: string, title: string) =>
  [...slack.messages.values()].filter((m) => m.channel === user && m.text.includes(title));
const teamsDms = (title: string) =>
  teams.calls.filter(
    (c) => c.conversationId === CY_CONVERSATION && String(c.body.text ?? '').includes(title),
  );

async function pageAlert(vigil: TestVigil, title: string) {
  const response = await vigil.ingest('generic', {
    title,
    severity: 'critical',
    source: 'edr',
    id: `${title}-${Math.random()}`,
  });
  const alert = ((await response.json()) as { alerts: { id: string; number: string }[] }).alerts[0] as {
    id: string;
    number: string;
  };
  const page = await eventually(
    async () =>
      vigil.handle.db.selectFrom('pages').selectAll().where('alert_id', '=', alert.id).executeTakeFirst(),
    20_000,
    'the page',
  );
  return { ...alert, title, pageId: page.id };
}

const stepsOf = (vigil: TestVigil, pageId: string) =>
  vigil.handle.db
    .selectFrom('page_steps')
    .selectAll()
    .where('page_id', '=', pageId)
    .orderBy('step_no')
    .execute();

beforeAll(async () => {
  slack = await new FakeSlackApi().start();
  teams = await new FakeBotConnector().start();
});
afterAll(async () => {
  await teams?.stop();
  await slack?.stop();
});

describe('escalation', () => {
  let vigil: TestVigil;
  beforeAll(async () => {
    vigil = await startTestVigil({ env: env(), clock, relayTimings });
    await setUp(vigil);
  });
  afterAll(async () => vigil?.close());

  it('notifies three levels in turn by direct message, each after the previous wait', async () => {
    const alert = await pageAlert(vigil, 'Ransomware on FIN-42');
    await eventually(
      async () => dmsTo(ANN, alert.title).length === 1 && teamsDms(alert.title).length === 1,
      20_000,
      'level 1 DMs',
    );
    expect(dmsTo(BOB, alert.title)).toHaveLength(0);

    await advance(vigil, 4);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(dmsTo(BOB, alert.title)).toHaveLength(0);
    await advance(vigil, 1);
    await eventually(async () => dmsTo(BOB, alert.title).length === 1, 20_000, 'level 2 DM');
    expect(dmsTo(DEE, alert.title)).toHaveLength(0);

    await advance(vigil, 10);
    await eventually(async () => dmsTo(DEE, alert.title).length === 1, 20_000, 'level 3 DM');
    const steps = await eventually(async () => {
      const rows = await stepsOf(vigil, alert.pageId);
      return rows.length === 3 && rows.every((r) => r.finished_at !== null) ? rows : undefined;
    });
    expect(steps.map((s) => [s.step_no, s.level, s.delivered.length])).toEqual([
      [0, 0, 2],
      [1, 1, 1],
      [2, 2, 1],
    ]);
    const page = await vigil.handle.db
      .selectFrom('pages')
      .selectAll()
      .where('id', '=', alert.pageId)
      .executeTakeFirstOrThrow();
    expect(page.state).toBe('exhausted');
    const trail = await vigil.handle.db
      .selectFrom('audit_log')
      .selectAll()
      .where('alert_id', '=', alert.id)
      .orderBy('id')
      .execute();
    expect(trail.filter((t) => t.action === 'page.step')).toHaveLength(3);
    expect(trail.filter((t) => t.action === 'page.notified').map((t) => t.details.recipient)).toEqual([
      `slack:${ANN}`,
      `teams:${CY_AAD}`,
      `slack:${BOB}`,
      `slack:${DEE}`,
    ]);
    // Nothing more is due.
    await advance(vigil, 60);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await stepsOf(vigil, alert.pageId)).toHaveLength(3);
  });

  it('stops at acknowledgement: Mark in progress before the next level means no next DM', async () => {
    const alert = await pageAlert(vigil, 'Impossible travel for CFO');
    await eventually(async () => dmsTo(ANN, alert.title).length === 1, 20_000, 'level 1 DM');
    const ack = await vigil.api('POST', `/api/alerts/${alert.id}/status`, { status: 'in_progress' });
    expect(ack.status).toBe(200);
    await advance(vigil, 5);
    const page = await eventually(
      async () => {
        const row = await vigil.handle.db
          .selectFrom('pages')
          .selectAll()
          .where('id', '=', alert.pageId)
          .executeTakeFirstOrThrow();
        return row.state === 'acknowledged' ? row : undefined;
      },
      20_000,
      'the page to stop',
    );
    expect(page.stopped_reason).toContain('in progress');
    await advance(vigil, 30);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(dmsTo(BOB, alert.title)).toHaveLength(0);
    expect(await stepsOf(vigil, alert.pageId)).toHaveLength(1);
    const stopped = await vigil.handle.db
      .selectFrom('audit_log')
      .select('details')
      .where('alert_id', '=', alert.id)
      .where('action', '=', 'page.stopped')
      .execute();
    expect(stopped).toHaveLength(1);
  });

  it('answers /vigil oncall and manages silences from Slack', async () => {
    const command = async (text: string, user: string) => {
      const body = commandBody({
        team_id: 'T0TEAM',
        channel_id: 'C0ALERTS',
        user_id: user,
        user_name: 'x',
        command: '/vigil',
        text,
        trigger_id: '1.2.3',
        api_app_id: 'A0VIGIL',
      });
      const response = await fetch(`${vigil.baseUrl}/slack/events`, {
        method: 'POST',
        headers: slackHeaders('slack-signing-secret-for-tests', body, 'application/x-www-form-urlencoded'),
        body,
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as { text: string }).text;
    };
    expect(await command('oncall', 'U0VIEWER')).toContain(`*secops-primary*: <@${ANN}>`);
    // A viewer may look but not silence.
    expect(await command('silence add 2h env=lab lab rebuild', 'U0VIEWER')).toContain('responder');
    const responder = await personOf(vigil, { kind: 'user', platform: 'slack', id: 'U0RESP' });
    const granted = await vigil.api('POST', `/api/people/${responder.personId}/role`, { role: 'responder' });
    expect(granted.status).toBe(200);
    expect(await command('silence add 2h env=~lab|dev', 'U0RESP')).toContain('Say why');
    const added = await command('silence add 2h env=~lab|dev lab rebuild', 'U0RESP');
    const id = /`([0-9a-f-]{36})`/.exec(added)?.[1];
    expect(id).toBeDefined();
    expect(await command('silence list', 'U0VIEWER')).toContain('lab rebuild');
    expect(await command(`silence expire ${id}`, 'U0RESP')).toContain('expired');
    expect(await command('silence list', 'U0VIEWER')).toBe('No active silences.');
  });
});

describe('a restart in the middle of a page', () => {
  it('neither skips nor repeats a step, even with Redis flushed', async () => {
    const first = await startTestVigil({ env: env(), clock, relayTimings });
    const { schema, prefix } = first;
    let second: TestVigil | null = null;
    try {
      await setUp(first);
      const alert = await pageAlert(first, 'Beaconing from build server');
      await eventually(async () => dmsTo(ANN, alert.title).length === 1, 20_000, 'level 1 DM');
      await eventually(
        async () => (await stepsOf(first, alert.pageId))[0]?.finished_at != null,
        20_000,
        'step 0 done',
      );

      // The only process stops; Redis loses everything; time passes beyond level 2's due time.
      await first.stop();
      await deleteRedisKeys(prefix);
      second = await startTestVigil({ env: env(), clock, relayTimings, joining: first });
      await advance(second, 5);
      await eventually(
        async () => dmsTo(BOB, alert.title).length === 1,
        15_000,
        'level 2 DM after the restart',
      );

      // Step 1's job runs again (as after a lost lock): it finds its row and sends nothing twice.
      await sql`UPDATE outbox SET enqueued_at = NULL, completed_at = NULL
        WHERE topic = 'escalate' AND payload->>'pageId' = ${alert.pageId} AND (payload->>'stepNo')::int <= 1`.execute(
        second.handle.db,
      );
      await deleteRedisKeys(prefix);
      await eventually(
        async () => {
          const rows = await second?.handle.db
            .selectFrom('outbox')
            .select('completed_at')
            .where('topic', '=', 'escalate')
            .where(sql<boolean>`payload->>'pageId' = ${alert.pageId} AND (payload->>'stepNo')::int <= 1`)
            .execute();
          return rows?.length === 2 && rows.every((r) => r.completed_at !== null);
        },
        15_000,
        'the re-run jobs',
      );
      expect(dmsTo(ANN, alert.title)).toHaveLength(1);
      expect(dmsTo(BOB, alert.title)).toHaveLength(1);
      const steps = await stepsOf(second, alert.pageId);
      expect(steps.map((s) => s.step_no)).toEqual([0, 1]);
      // Exactly one row for the next step, not one per run.
      const next = await second.handle.db
        .selectFrom('outbox')
        .select('id')
        .where('topic', '=', 'escalate')
        .where(sql<boolean>`payload->>'pageId' = ${alert.pageId} AND payload->>'stepNo' = '2'`)
        .execute();
      expect(next).toHaveLength(1);

      await advance(second, 10);
      await eventually(async () => dmsTo(DEE, alert.title).length === 1, 15_000, 'level 3 DM');
    } finally {
      await second?.stop();
      await first.stop().catch(() => {});
      await dropSchema(schema);
      await deleteRedisKeys(prefix);
    }
  });
});
