import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { runPoliciesCommand } from '../../src/policies-file.js';
import { FakeExecutor } from '../fakes/executor.js';
import { FakeSlackApi } from '../fakes/slack-api.js';
import {
  eventually,
  INGEST_TOKEN,
  startTestVigil,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  type TestVigil,
} from '../helpers/harness.js';
import { personWithToken, type TokenPerson } from '../helpers/people.js';

// Policies end to end: the file command, ingest matching, auto-remediation, routes, silences.
const DEFAULT_CHANNEL = 'C0DEFAULT';
const APP_CHANNEL = 'C0APPS';

let slack: FakeSlackApi;
let executor: FakeExecutor;
let vigil: TestVigil;
let dir: string;

beforeAll(async () => {
  slack = await new FakeSlackApi().start();
  executor = await new FakeExecutor().start();
  vigil = await startTestVigil({
    env: {
      VIGIL_EXECUTOR_WEBHOOK_URL: `${executor.url}/actions`,
      VIGIL_EXECUTOR_WEBHOOK_SECRET: 'executor-secret-0123456789',
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: 'slack-signing-secret-for-tests',
      SLACK_API_URL: slack.url,
      SLACK_ALERT_CHANNEL: DEFAULT_CHANNEL,
      VIGIL_PUBLIC_URL: 'https://vigil.example.com',
      VIGIL_PRIVILEGED_USERS: 'ceo@contoso.com',
    },
    relayTimings: { pollMs: 100, redriveAfterMs: 2_000, redriveEveryMs: 1_000 },
  });
  dir = await mkdtemp(join(tmpdir(), 'vigil-policies-'));
});
afterAll(async () => {
  await vigil?.close();
  await slack?.stop();
  await executor?.stop();
});

/** Runs `vigil policies apply` against this test's schema, capturing what it prints. */
async function applyFile(yaml: string, dryRun = false) {
  const path = join(dir, `policies-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(path, yaml);
  const config = loadConfig({
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    VIGIL_DB_SCHEMA: vigil.schema,
    VIGIL_INGEST_TOKEN: INGEST_TOKEN,
    LOG_LEVEL: 'silent',
  });
  const out: string[] = [];
  const err: string[] = [];
  const code = await runPoliciesCommand(
    ['apply', path, ...(dryRun ? ['--dry-run'] : [])],
    config,
    TEST_DATABASE_URL,
    {
      log: (line) => out.push(line),
      error: (line) => err.push(line),
    },
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** The investigation holding the policy's actions on an alert. */
async function remediationOf(alertId: string): Promise<string> {
  const row = await vigil.handle.db
    .selectFrom('investigations')
    .select('id')
    .where('trigger_alert_id', '=', alertId)
    .where('purpose', '=', 'policy_remediation')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function ingest(alert: Record<string, unknown>): Promise<string> {
  const response = await vigil.ingest('generic', {
    source: 'graph',
    severity: 'high',
    id: `${Math.random()}`,
    ...alert,
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { alerts: { id: string }[] }).alerts[0]?.id as string;
}

const BASE_FILE = `
policies:
  - name: Risky unverified mail apps
    description: Unverified apps that users consented to with mail access are disabled at once.
    conditions:
      severityAtLeast: medium
      oauthApp:
        permissionsAny: [Mail.ReadWrite, Mail.Send]
        publisherVerified: false
        consentScope: user
    actions:
      - type: route
        slack: [${APP_CHANNEL}]
      - type: remediate
        steps:
          - action: revoke_oauth_consent
          - action: revoke_sessions
            params: { scope: all_users }
  - name: Record everything from graph
    conditions:
      sources: [graph]
    actions:
      - type: record
`;

describe('policies file', () => {
  it('refuses a file with errors whole, listing every error path', async () => {
    const result = await applyFile(`
policies:
  - name: ok
    actions: [{ type: record }]
  - name: broken
    conditions:
      severityAtLeast: extreme
      labels: [{ name: env, op: "=~", value: "(" }]
    actions: [{ type: page, escalationPolicy: nowhere }]
  - name: no-actions
    actions: []
`);
    expect(result.code).toBe(1);
    for (const path of [
      'policies[1].conditions.severityAtLeast',
      'policies[1].conditions.labels[0].value',
      'policies[2].actions',
    ]) {
      expect(result.err).toContain(path);
    }
    const stored = await vigil.handle.db.selectFrom('policies').select('name').execute();
    expect(stored).toEqual([]);
  });

  it('shows the difference on a dry run and applies nothing', async () => {
    const result = await applyFile(BASE_FILE, true);
    expect(result.code).toBe(0);
    expect(result.out).toContain('+ policy Risky unverified mail apps (added)');
    expect(result.out).toContain('Dry run');
    expect(await vigil.handle.db.selectFrom('policies').select('name').execute()).toEqual([]);
  });

  it('applies a valid file atomically, audited, keeping the previous version', async () => {
    expect((await applyFile(BASE_FILE)).code).toBe(0);
    const changed = BASE_FILE.replace('sources: [graph]', 'sources: [graph, alertmanager]');
    const second = await applyFile(changed);
    expect(second.code).toBe(0);
    expect(second.out).toContain('~ policy Record everything from graph (changed)');
    expect(second.out).toContain('1 policy(s) unchanged');
    const policy = await vigil.handle.db
      .selectFrom('policies')
      .selectAll()
      .where('name', '=', 'Record everything from graph')
      .executeTakeFirstOrThrow();
    expect(policy.version).toBe(2);
    const versions = await vigil.handle.db
      .selectFrom('policy_versions')
      .selectAll()
      .where('policy_id', '=', policy.id)
      .orderBy('version')
      .execute();
    expect(versions.map((v) => v.version)).toEqual([1, 2]);
    expect(
      (versions[0]?.spec as { conditions?: { sources?: string[] } } | undefined)?.conditions?.sources,
    ).toEqual(['graph']);
    const audit = await vigil.handle.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', 'in', ['policy.created', 'policy.changed', 'policies.applied'])
      .orderBy('id')
      .execute();
    expect(audit.map((a) => a.action)).toEqual([
      'policy.created',
      'policy.created',
      'policies.applied',
      'policy.changed',
      'policies.applied',
    ]);
    expect(audit[3]?.details).toMatchObject({ policyId: policy.id, version: 2, previousVersion: 1 });
    expect(audit.every((a) => a.alert_id === null)).toBe(true);
    // The API shows every version.
    const view = (await (await vigil.api('GET', `/api/policies/${policy.id}`)).json()) as {
      versions: unknown[];
    };
    expect(view.versions).toHaveLength(2);
    // Put back as it was, for the tests below.
    expect((await applyFile(BASE_FILE)).code).toBe(0);
  });
});

describe('applying policies at ingest', () => {
  it('auto-remediates a matching alert: each step an action, then Resolved by the policy, on its card', async () => {
    const id = await ingest({
      title: 'Unverified app with mail access consented by a user',
      // The source's own policy: kept and shown, the Vigil policy beside it.
      policy: { name: 'Defender: app governance', url: 'https://security.microsoft.com/policies/9' },
      entities: [
        { kind: 'user', id: 'megan.bowen@contoso.com', name: 'Megan Bowen' },
        {
          kind: 'oauth_application',
          id: 'app-contoso-sync',
          name: 'Contoso Sync',
          attributes: {
            permissions: ['Mail.ReadWrite', 'User.Read'],
            publisherVerified: false,
            consentType: 'Principal',
          },
        },
      ],
    });
    const alert = await eventually(
      async () => {
        const row = await vigil.handle.db
          .selectFrom('alerts')
          .selectAll()
          .where('id', '=', id)
          .executeTakeFirstOrThrow();
        return row.status === 'resolved' ? row : undefined;
      },
      15_000,
      'the policy to resolve the alert',
    );
    expect(alert.policy_name).toBe('Defender: app governance');
    expect(alert.policy_url).toBe('https://security.microsoft.com/policies/9');
    expect(alert.vigil_policy_name).toBe('Risky unverified mail apps');
    expect(alert.vigil_policy_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(alert.status_changed_by).toMatchObject({ kind: 'policy', name: 'Risky unverified mail apps' });
    const trail = await vigil.handle.db
      .selectFrom('audit_log')
      .selectAll()
      .where('alert_id', '=', id)
      .orderBy('id')
      .execute();
    // Each step is an action requested by the policy, approved by it and run by the executor.
    const actions = (await (
      await vigil.api('GET', `/api/actions?status=all&investigationId=${await remediationOf(id)}`)
    ).json()) as {
      actions: { kind: string; status: string; requestedBy: unknown; target: { key: string } }[];
    };
    expect(actions.actions.map((a) => [a.kind, a.target.key, a.status]).sort()).toEqual([
      ['revoke_oauth_consent', 'app-contoso-sync', 'done'],
      ['revoke_sessions', 'megan.bowen@contoso.com', 'done'],
    ]);
    expect(actions.actions[0]?.requestedBy).toMatchObject({
      kind: 'policy',
      name: 'Risky unverified mail apps',
    });
    const revoked = executor.calls.filter((call) => JSON.stringify(call.body).includes('app-contoso-sync'));
    expect(revoked).toHaveLength(1);
    expect(JSON.stringify(revoked[0]?.body)).toContain('revoke_oauth_consent');
    // Actions first, then the resolution.
    const done = trail.filter((row) => row.action === 'action.done');
    expect(done).toHaveLength(2);
    const resolvedAt = trail.findIndex((row) => row.action === 'alert.status_changed');
    expect(resolvedAt).toBeGreaterThan(trail.indexOf(done[1] as (typeof trail)[number]));
    // The card in the policy's channel says who resolved it and links to the policy.
    const card = await eventually(
      async () => {
        const [message] = slack.cardsIn(APP_CHANNEL);
        return message !== undefined && JSON.stringify(message.blocks).includes('Resolved')
          ? message
          : undefined;
      },
      15_000,
      'the card to show Resolved',
    );
    const blocks = JSON.stringify(card.blocks);
    expect(blocks).toContain('by policy Risky unverified mail apps');
    // Both policies, each with a link people can open: the source's, and the console's page of Vigil's.
    expect(blocks).toContain(
      'Defender: app governance (<https://security.microsoft.com/policies/9|View policy>)',
    );
    expect(blocks).toContain(
      `Risky unverified mail apps (<https://vigil.example.com/console/#/policies/${alert.vigil_policy_id}|View policy>)`,
    );
    expect(blocks).toContain(`"url":"https://vigil.example.com/console/#/alerts/${id}"`);
    expect(blocks).not.toContain('/api/');
  });

  it('leaves an alert that does not match the remediating policy alone, naming the recording policy', async () => {
    const id = await ingest({
      title: 'Verified app',
      entities: [
        {
          kind: 'oauth_application',
          id: 'app-ok',
          attributes: { permissions: ['Mail.ReadWrite'], publisherVerified: true, consentType: 'Principal' },
        },
      ],
    });
    await eventually(
      async () => slack.cardsIn(DEFAULT_CHANNEL).length > 0,
      20_000,
      'a card in the default channel',
    );
    const row = await vigil.handle.db
      .selectFrom('alerts')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.vigil_policy_name).toBe('Record everything from graph');
    expect(row.policy_name).toBeNull();
    expect(row.status).toBe('new');
  });

  it('starts the investigation a policy asks for, with its automation level, as the policy', async () => {
    const withInvestigation = `${BASE_FILE}
  - name: Investigate identity alerts
    conditions:
      sources: [idp]
    actions:
      - type: investigate
        playbook: Default
        automation: none
`;
    expect((await applyFile(withInvestigation)).code).toBe(0);
    const id = await ingest({
      source: 'idp',
      title: 'Impossible travel',
      entities: [{ kind: 'user', id: 'adele@contoso.com' }],
    });
    const investigation = await eventually(
      async () =>
        vigil.handle.db
          .selectFrom('investigation_alerts as ia')
          .innerJoin('investigations as i', 'i.id', 'ia.investigation_id')
          .select(['i.automation', 'i.started_by', 'i.playbook'])
          .where('ia.alert_id', '=', id)
          .executeTakeFirst(),
      15_000,
      'the policy to start an investigation',
    );
    expect(investigation.automation).toBe('none');
    expect(investigation.started_by).toMatchObject({ kind: 'policy', name: 'Investigate identity alerts' });
    expect(investigation.playbook).toMatchObject({ name: 'Default' });
    expect((await applyFile(BASE_FILE)).code).toBe(0);
  });
});

describe('silences', () => {
  it('mute matching alerts (stored and counted, not posted) until they expire', async () => {
    const created = await vigil.api('POST', '/api/silences', {
      labels: [{ name: 'env', op: '=~', value: 'lab|dev' }],
      endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      comment: 'lab rebuild',
    });
    expect(created.status).toBe(201);
    const silence = (await created.json()) as { id: string };
    const refused = await vigil.api('POST', '/api/silences', {
      endsAt: new Date(Date.now() + 60_000).toISOString(),
      comment: 'everything',
    });
    expect(refused.status).toBe(400);

    const muted = [
      await ingest({ source: 'alertmanager', title: 'Lab disk', labels: { env: 'lab' } }),
      await ingest({ source: 'alertmanager', title: 'Dev disk', labels: { env: 'dev' } }),
    ];
    const loud = await ingest({ source: 'alertmanager', title: 'Prod disk', labels: { env: 'prod' } });
    await eventually(
      async () => slack.cardsIn(DEFAULT_CHANNEL).some((m) => m.text.includes('Prod disk')),
      20_000,
      'the prod card',
    );
    // The notify jobs of the muted alerts ran (completed) and posted nothing.
    await eventually(
      async () => {
        const rows = await vigil.handle.db
          .selectFrom('outbox')
          .select('completed_at')
          .where('topic', '=', 'notify')
          .where(({ eb, ref }) =>
            eb(eb.fn('jsonb_extract_path_text', [ref('payload'), eb.val('alertId')]), 'in', muted),
          )
          .execute();
        return rows.length === 2 && rows.every((r) => r.completed_at !== null);
      },
      20_000,
      'the muted notify jobs to finish',
    );
    expect(
      slack.messages.size > 0 && [...slack.messages.values()].some((m) => /Lab disk|Dev disk/.test(m.text)),
    ).toBe(false);
    const rows = await vigil.handle.db
      .selectFrom('alerts')
      .select(['id', 'muted', 'silence_id'])
      .where('id', 'in', [...muted, loud])
      .execute();
    expect(
      rows
        .filter((r) => r.muted)
        .map((r) => r.id)
        .sort(),
    ).toEqual([...muted].sort());
    const view = (await (await vigil.api('GET', `/api/silences/${silence.id}`)).json()) as {
      mutedCount: number;
    };
    expect(view.mutedCount).toBe(2);

    // Expired, it mutes no more.
    expect((await vigil.api('DELETE', `/api/silences/${silence.id}`)).status).toBe(204);
    await ingest({ source: 'alertmanager', title: 'Lab disk again', labels: { env: 'lab' } });
    await eventually(
      async () => slack.cardsIn(DEFAULT_CHANNEL).some((m) => m.text.includes('Lab disk again')),
      20_000,
      'the card after expiry',
    );
    const trail = await vigil.handle.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', 'in', ['silence.created', 'silence.expired'])
      .execute();
    expect(trail.map((t) => t.action).sort()).toEqual(['silence.created', 'silence.expired']);
  });
});

describe('docs/policies.md', () => {
  it('holds an example policies.yaml that validates', async () => {
    const { readFile } = await import('node:fs/promises');
    const { parsePoliciesFile } = await import('../../src/policies-file.js');
    const markdown = await readFile(new URL('../../docs/policies.md', import.meta.url), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(markdown)?.[1] ?? '';
    const parsed = parsePoliciesFile(example);
    expect(parsed).toMatchObject({ ok: true });
    expect(parsed.ok && parsed.file.policies).toHaveLength(3);
  });
});

describe('a high-impact step of an auto-remediating policy', () => {
  it('waits for two approvers on the card, runs once approved, then resolves the alert by policy', async () => {
    const created = await vigil.api('POST', '/api/policies', {
      name: 'Disable compromised executives',
      conditions: { sources: ['graph'], categories: ['ExecutiveCompromise'] },
      actions: [{ type: 'remediate', steps: [{ action: 'disable_user' }] }],
    });
    expect(created.status).toBe(201);
    const id = await ingest({
      title: 'Token theft for the CEO',
      category: 'ExecutiveCompromise',
      entities: [{ kind: 'user', id: 'CEO@contoso.com', name: 'The CEO' }],
    });
    const investigationId = await eventually(() => remediationOf(id).catch(() => undefined), 15_000);
    const [action] = (
      (await (await vigil.api('GET', `/api/actions?investigationId=${investigationId}`)).json()) as {
        actions: { id: string; status: string; approvalsNeeded: number }[];
      }
    ).actions;
    expect(action).toMatchObject({ status: 'pending_approval', approvalsNeeded: 2 });
    // The card shows the policy's action waiting, with its approvals so far.
    await eventually(
      async () =>
        slack.cardsIn(DEFAULT_CHANNEL).some((message) => {
          const blocks = JSON.stringify(message.blocks);
          return blocks.includes('Token theft for the CEO') && blocks.includes('approvals 0/2');
        }),
      15_000,
      'the card to show the action waiting for two approvals',
    );
    expect(executor.calls.filter((call) => JSON.stringify(call.body).includes('ceo@contoso.com'))).toEqual(
      [],
    );
    const [dana, lee] = [
      await personWithToken(vigil, 'dana', 'approver'),
      await personWithToken(vigil, 'lee', 'approver'),
    ];
    const approve = (person: TokenPerson) =>
      vigil.api('POST', `/api/actions/${action?.id}/approve`, {}, person.as);
    expect((await approve(dana)).status).toBe(202);
    const status = async () =>
      (
        await vigil.handle.db
          .selectFrom('alerts')
          .select('status')
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
      ).status;
    expect(await status()).toBe('new');
    expect((await approve(lee)).status).toBe(200);
    await eventually(async () => (await status()) === 'resolved', 15_000, 'the policy to resolve the alert');
    expect(
      executor.calls.filter((call) => JSON.stringify(call.body).includes('ceo@contoso.com')),
    ).toHaveLength(1);
    const trail = await vigil.handle.db
      .selectFrom('audit_log')
      .select(['action', 'actor'])
      .where('alert_id', '=', id)
      .orderBy('id')
      .execute();
    const actions = trail.map((row) => row.action);
    expect(actions.indexOf('alert.status_changed')).toBeGreaterThan(actions.indexOf('action.done'));
    expect(trail.find((row) => row.action === 'alert.status_changed')?.actor).toMatchObject({
      kind: 'policy',
      name: 'Disable compromised executives',
    });
  });
});
