import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePoliciesFile } from '../../src/policies-file.js';
import { FakeSlackApi } from '../fakes/slack-api.js';
import { startTestVigil, type TestVigil } from '../helpers/harness.js';
import { commandBody, postSignedForm, slackTestEnv } from '../helpers/slack-signing.js';

// Patterns people write run in linear time (RE2): a hostile silence meets hostile labels and
// Vigil keeps answering; patterns RE2 cannot run are refused where they are written, audited,
// and those stored before are disabled at start-up, never dropped.
const ADMIN = 'U0ADMIN';
const RESPONDER = 'U0RESP';
const HOSTILE_PATTERN = '(a|a)+$';
const hostileHost = (n: number) => `${'a'.repeat(30)}${n}!`;

let slack: FakeSlackApi;
let vigil: TestVigil;

beforeAll(async () => {
  slack = await new FakeSlackApi().start();
  vigil = await startTestVigil({ env: slackTestEnv(slack.url, 'C0ALERTS', ADMIN) });
  expect(await slackCommand(`role <@${RESPONDER}> responder`, ADMIN)).toContain('is now a responder');
});
afterAll(async () => {
  await vigil?.close();
  await slack?.stop();
});

const auditRows = (action: string) =>
  vigil.handle.db
    .selectFrom('audit_log')
    .select(['actor_key', 'details'])
    .where('action', '=', action)
    .orderBy('id')
    .execute();

/** One `/vigil` command from `user`, signed as Slack signs it; the ephemeral answer's text. */
async function slackCommand(text: string, user: string): Promise<string> {
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
  const response = await postSignedForm(vigil.baseUrl, body);
  expect(response.status).toBe(200);
  return ((await response.json()) as { text: string }).text;
}

describe('a hostile pattern meets a hostile label', () => {
  // A Vigil of its own without chat: its 201 cards are written to the log, not paced to Slack.
  let quiet: TestVigil;
  beforeAll(async () => {
    quiet = await startTestVigil();
  });
  afterAll(async () => {
    await quiet?.close();
  });

  it('keeps /healthz answering while the alerts are ingested, and the silence still works', async () => {
    const vigil = quiet;
    const silence = await vigil.api('POST', '/api/silences', {
      labels: [{ name: 'host', op: '=~', value: HOSTILE_PATTERN }],
      endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      comment: 'hostile',
    });
    expect(silence.status).toBe(201);

    // Each of these took a backtracking engine over 20 s (doubling with every letter).
    const alerts = Array.from({ length: 200 }, (_, n) => ({
      title: `hostile ${n}`,
      id: `hostile-${n}`,
      source: 'redteam',
      labels: { host: hostileHost(n) },
    }));
    alerts.push({ title: 'silenced', id: 'silenced', source: 'redteam', labels: { host: 'aaaa' } });
    const ingest = vigil.ingest('generic', { alerts });
    // The issue asks for /healthz under 100 ms meanwhile. The best of a few probes is compared, so
    // a loaded machine scheduling one probe late does not fail it; a frozen event loop fails them all.
    const probes: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const started = performance.now();
      const health = await fetch(`${vigil.baseUrl}/healthz`);
      probes.push(performance.now() - started);
      expect(health.status).toBe(200);
    }
    const ingested = await ingest;
    expect(ingested.status).toBe(202);
    expect(Math.min(...probes)).toBeLessThan(100);

    const rows = await vigil.handle.db
      .selectFrom('alerts')
      .select(['title', 'muted'])
      .where('source', '=', 'redteam')
      .execute();
    expect(rows).toHaveLength(201);
    expect(rows.filter((row) => row.muted).map((row) => row.title)).toEqual(['silenced']);
  });
});

describe('patterns RE2 cannot run are refused where they are written', () => {
  it('answers 400 naming the field on /api/silences and /api/policies, and audits the refusal', async () => {
    const silence = await vigil.api('POST', '/api/silences', {
      labels: [
        { name: 'env', op: '=', value: 'lab' },
        { name: 'host', op: '=~', value: '(a)\\1' },
      ],
      endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      comment: 'backreference',
    });
    expect(silence.status).toBe(400);
    const silenceError = (await silence.json()) as { error: { issues: { path: string; message: string }[] } };
    expect(silenceError.error.issues).toEqual([
      { path: 'labels.1.value', message: expect.stringMatching(/RE2.*invalid escape sequence/) },
    ]);

    const policy = await vigil.api('POST', '/api/policies', {
      name: 'lookahead',
      conditions: { labels: [{ name: 'host', op: '!~', value: '(?!db).*' }] },
      actions: [{ type: 'record' }],
    });
    expect(policy.status).toBe(400);
    const policyError = (await policy.json()) as { error: { message: string } };
    expect(policyError.error.message).toContain('conditions.labels.0.value: pattern refused');

    const long = await vigil.api('POST', '/api/policies', {
      name: 'long',
      conditions: { labels: [{ name: 'host', op: '=~', value: 'a'.repeat(1_001) }] },
      actions: [{ type: 'record' }],
    });
    expect(long.status).toBe(400);
    expect(((await long.json()) as { error: { message: string } }).error.message).toContain(
      'conditions.labels.0.value',
    );

    const refusedSilences = await auditRows('silence.refused');
    expect(refusedSilences).toContainEqual({
      actor_key: 'api:service',
      details: { issues: [{ path: 'labels.1.value', message: expect.stringContaining('RE2') }] },
    });
    expect(await auditRows('policy.refused')).toHaveLength(2);
    expect(await vigil.handle.db.selectFrom('policies').select('name').execute()).toEqual([]);
  });

  it('refuses a policies file for `vigil policies apply`, naming the path', () => {
    const parsed = parsePoliciesFile(
      [
        'policies:',
        '  - name: backreference',
        '    conditions:',
        '      labels:',
        '        - { name: host, op: "=~", value: "(db)-\\\\1" }',
        '    actions: [{ type: record }]',
      ].join('\n'),
    );
    expect(parsed).toEqual({
      ok: false,
      problems: [
        {
          path: 'policies[0].conditions.labels[0].value',
          message: expect.stringMatching(/^pattern refused: not an RE2 regular expression/),
        },
      ],
    });
  });

  it('answers /vigil silence in Slack with the refused pattern and why, and audits it', async () => {
    const answer = await slackCommand(
      'silence add 2h env=lab host=~<!channel>(?<=x)y lab rebuild',
      RESPONDER,
    );
    // Quoted as typed, escaped for Slack: Slack shows `<!channel>(?<=x)y` and pings nobody.
    expect(answer).toContain('`&lt;!channel&gt;(?&lt;=x)y`');
    expect(answer).not.toContain('<!channel>');
    expect(answer).toContain('labels[1].value');
    expect(answer).toMatch(/refused: not an RE2 regular expression/);
    expect(await auditRows('silence.refused')).toContainEqual({
      actor_key: `slack:${RESPONDER}`,
      details: expect.objectContaining({ reason: expect.stringContaining('labels[1].value') }),
    });
    const stored = await vigil.handle.db.selectFrom('silences').select('comment').execute();
    expect(stored.map((row) => row.comment)).not.toContain('lab rebuild');
  });
});

describe('stored patterns RE2 cannot run', () => {
  it('are disabled at start-up with an audit row naming the field, once across processes', async () => {
    // Saved before patterns went through RE2: written straight into the tables.
    const now = Date.now();
    const silence = await vigil.handle.db
      .insertInto('silences')
      .values({
        labels: JSON.stringify([{ name: 'host', op: '=~', value: '(a)\\1' }]),
        entities: '[]',
        starts_at: new Date(now - 60_000),
        ends_at: new Date(now + 3_600_000),
        created_by: JSON.stringify({ kind: 'system' }),
        comment: 'old backreference',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const spec = {
      name: 'old lookahead',
      enabled: true,
      conditions: {
        labels: [
          { name: 'env', op: '=', value: 'x' },
          { name: 'host', op: '=~', value: '(?=a)a' },
        ],
      },
      actions: [{ type: 'record' }],
    };
    await vigil.handle.db
      .insertInto('policies')
      .values({ name: spec.name, enabled: true, spec: JSON.stringify(spec), updated_by: 'system' })
      .execute();

    // Two more processes of the same install start (a worker and a web), one after the other.
    for (const roles of [
      { web: false, worker: true },
      { web: true, worker: false },
    ]) {
      const other = await startTestVigil({
        joining: vigil,
        roles,
        env: slackTestEnv(slack.url, 'C0ALERTS', ADMIN),
      });
      await other.close();
    }

    const ended = await vigil.handle.db
      .selectFrom('silences')
      .select('ends_at')
      .where('id', '=', silence.id)
      .executeTakeFirstOrThrow();
    expect(ended.ends_at.getTime()).toBeLessThanOrEqual(Date.now());
    const disabledSilences = await auditRows('silence.disabled');
    expect(disabledSilences).toEqual([
      {
        actor_key: 'system',
        details: expect.objectContaining({
          silenceId: silence.id,
          problems: [{ field: 'labels[0].value', pattern: '(a)\\1', reason: expect.stringContaining('RE2') }],
        }),
      },
    ]);
    const policy = await vigil.handle.db
      .selectFrom('policies')
      .select(['enabled', 'version'])
      .where('name', '=', spec.name)
      .executeTakeFirstOrThrow();
    expect(policy).toEqual({ enabled: false, version: 2 });
    expect(await auditRows('policy.disabled')).toEqual([
      {
        actor_key: 'system',
        details: expect.objectContaining({
          name: spec.name,
          problems: [
            {
              field: 'conditions.labels[1].value',
              pattern: '(?=a)a',
              reason: expect.stringContaining('RE2'),
            },
          ],
        }),
      },
    ]);
    // The console and API still show both, kept for the record.
    const listed = (await (await vigil.api('GET', '/api/silences?all=true')).json()) as {
      silences: { comment: string }[];
    };
    expect(listed.silences.map((s) => s.comment)).toContain('old backreference');
  });
});
