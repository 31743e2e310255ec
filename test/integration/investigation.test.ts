import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideAction } from '../../src/app/commands/decide-action.js';
import { startInvestigation } from '../../src/app/commands/start-investigation.js';
import { systemClock } from '../../src/domain/index.js';
import { actMessage } from '../../src/storage/investigation.repository.js';
import { appendOutbox } from '../../src/storage/outbox.repository.js';
import { FakeEnrichment } from '../fakes/enrichment.js';
import { FakeExecutor } from '../fakes/executor.js';
import { eventually, startTestVigil, type TestVigil } from '../helpers/harness.js';
import { personOf, personWithToken, type TokenPerson } from '../helpers/people.js';

const SECRET = 'executor-secret-0123456789';
let vigil: TestVigil;
let second: TestVigil;
let enrichment: FakeEnrichment;
let executor: FakeExecutor;
let alice: TokenPerson;
let bob: TokenPerson;
let carol: TokenPerson;

beforeAll(async () => {
  process.env.VIGIL_SECRET_TI = 'ti-token-123';
  enrichment = await new FakeEnrichment().start();
  executor = await new FakeExecutor(SECRET).start();
  const env = {
    VIGIL_EXECUTOR_WEBHOOK_URL: `${executor.url}/webhook`,
    VIGIL_EXECUTOR_WEBHOOK_SECRET: SECRET,
    VIGIL_ACTION_LEASE_MS: '5000',
  };
  vigil = await startTestVigil({ env, relayTimings: { pollMs: 100 } });
  // A second worker process of the same install: every job has two workers competing for it.
  second = await startTestVigil({ env, joining: vigil, roles: { web: false, worker: true } });
  // Three people, each with a personal API token: the API names who acts by the token alone.
  alice = await personWithToken(vigil, 'alice', 'approver');
  bob = await personWithToken(vigil, 'bob', 'approver');
  carol = await personWithToken(vigil, 'carol', 'approver');
});
afterAll(async () => {
  await second?.close();
  await vigil?.close();
  await enrichment?.stop();
  await executor?.stop();
});

const json = async (response: Response) => (await response.json()) as any;

async function ingest(body: Record<string, unknown>): Promise<string> {
  const response = await vigil.ingest('generic', body);
  expect(response.status).toBe(202);
  return (await json(response)).alerts[0].id as string;
}

async function addRule(body: Record<string, unknown>) {
  const response = await vigil.api('POST', '/api/investigation-rules', body);
  expect(response.status).toBe(201);
  return json(response);
}

const httpStep = (overrides: Record<string, unknown> = {}) => ({
  key: 'threat-intel',
  provider: 'http',
  params: {
    url: `${enrichment.url}/lookup/{kind}/{key}`,
    headers: { Authorization: 'Bearer {secret:VIGIL_SECRET_TI}' },
    kinds: ['user'],
    verdictField: 'data.verdict',
    whyField: 'data.reason',
    timeoutMs: 2_000,
    retries: 0,
    ...overrides,
  },
});

const fiveSteps = () => [
  { key: 'related-alerts', provider: 'related_alerts' },
  { key: 'entity-history', provider: 'entity_history' },
  { key: 'watchlist', provider: 'watchlist' },
  { key: 'oauth-app-risk', provider: 'oauth_app_risk' },
  httpStep(),
];

async function investigationOf(alertId: string): Promise<any> {
  const detail = await eventually(
    async () => {
      const alert = await json(await vigil.api('GET', `/api/alerts/${alertId}`));
      return alert.investigations.length > 0 ? alert : undefined;
    },
    20_000,
    'an investigation of the alert',
  );
  return detail.investigations[0];
}

async function settled(investigationId: string, statuses: string[]): Promise<any> {
  return eventually(
    async () => {
      const detail = await json(await vigil.api('GET', `/api/investigations/${investigationId}`));
      return statuses.includes(detail.status) ? detail : undefined;
    },
    15_000,
    `investigation ${investigationId} to be ${statuses.join(' or ')}`,
  );
}

describe('automated investigations', () => {
  it('starts on a matching alert, runs the playbook, records findings and proposes actions', async () => {
    await addRule({
      name: 'Identity attacks',
      source: 't1',
      minSeverity: 'medium',
      playbook: { name: 'Five steps', steps: { default: fiveSteps() } },
      automation: 'semi',
    });
    await vigil.api('POST', '/api/watchlist', { kind: 'ip', value: '203.0.113.9', reason: 'C2 server' });
    enrichment.behaviours.set('user:adele@contoso.com', {
      verdict: 'malicious',
      reason: 'password spray source',
    });

    // Below the rule's minimum severity: no investigation.
    const low = await ingest({ title: 'Low', source: 't1', severity: 'low', id: 'low-1' });
    const alertId = await ingest({
      title: 'Consent phishing for adele',
      source: 't1',
      severity: 'high',
      id: 't1-1',
      entities: [
        { kind: 'user', id: 'adele@contoso.com', name: 'Adele Vance' },
        { kind: 'ip', id: '203.0.113.9' },
        {
          kind: 'oauth_application',
          id: 'app-1',
          name: 'Mail Helper',
          attributes: {
            permissions: ['Mail.ReadWrite', 'User.Read'],
            publisherVerified: false,
            consentType: 'AllPrincipals',
          },
        },
      ],
    });
    const summary = await investigationOf(alertId);
    expect(summary.reason).toBe('trigger');
    const detail = await settled(summary.id, ['pending_approval']);

    expect(detail.log.map((step: any) => [step.stepKey, step.outcome])).toEqual([
      ['related-alerts', 'succeeded'],
      ['entity-history', 'succeeded'],
      ['watchlist', 'succeeded'],
      ['oauth-app-risk', 'succeeded'],
      ['threat-intel', 'succeeded'],
    ]);
    const verdicts = Object.fromEntries(detail.entities.map((e: any) => [`${e.kind}:${e.key}`, e.verdict]));
    expect(verdicts).toEqual({
      'app:app-1': 'malicious',
      'ip:203.0.113.9': 'malicious',
      'user:adele@contoso.com': 'malicious',
    });
    expect(detail.users).toHaveLength(1);
    expect(detail.findings.map((f: any) => f.title).join('\n')).toMatch(/watchlist.*C2 server/);
    expect(detail.findings.map((f: any) => f.title).join('\n')).toMatch(/unverified publisher/);
    expect(detail.pendingActions.map((a: any) => `${a.kind}:${a.target.key}`).sort()).toEqual([
      'block_indicator:203.0.113.9',
      'disable_user:adele@contoso.com',
      'revoke_oauth_consent:app-1',
      'revoke_sessions:adele@contoso.com',
    ]);
    expect(detail.pendingActions[0].reason).not.toBe('');
    expect(detail.graph.nodes).toHaveLength(4);
    expect(detail.graph.edges).toHaveLength(3);
    // The secret went to the service by reference, and nowhere else.
    expect(enrichment.callsFor('user', 'adele@contoso.com')[0]?.authorization).toBe('Bearer ti-token-123');
    expect(JSON.stringify(detail)).not.toContain('ti-token-123');

    const alert = await json(await vigil.api('GET', `/api/alerts/${alertId}`));
    expect(alert.audit.map((a: any) => a.action)).toContain('alert.investigation_started');
    expect((await json(await vigil.api('GET', `/api/alerts/${low}`))).investigations).toEqual([]);
    const pending = await json(await vigil.api('GET', `/api/actions?investigationId=${summary.id}`));
    expect(pending.actions).toHaveLength(4);
  });

  it('approves through the API (executed once, signed), rejects with a reason, and settles the status', async () => {
    const actions = (await json(await vigil.api('GET', '/api/actions'))).actions.filter(
      (a: any) =>
        a.target.key === 'adele@contoso.com' || a.target.key === '203.0.113.9' || a.target.key === 'app-1',
    );
    const byKind = Object.fromEntries(actions.map((a: any) => [a.kind, a]));
    executor.latencyMs = 300;
    const approved = await vigil.api(
      'POST',
      `/api/actions/${byKind.revoke_sessions.id}/approve`,
      {},
      alice.as,
    );
    expect(approved.status).toBe(200);
    expect((await json(approved)).action.status).toBe('approved');

    // At-least-once delivery: the same act job delivered three more times, to two workers, while
    // the first call is still in flight. The claim in Postgres lets one call through.
    await appendOutbox(
      vigil.handle.db,
      [1, 2, 3].map(() => actMessage(byKind.revoke_sessions.id)),
    );
    const call = await executor.nextCall((c) => c.body.actionId === byKind.revoke_sessions.id);
    expect(call.idempotencyKey).toBe(`vigil-action-${byKind.revoke_sessions.id}`);
    expect(call.signatureValid).toBe(true);
    expect(call.body).toMatchObject({ kind: 'revoke_sessions', target: { key: 'adele@contoso.com' } });
    await eventually(
      async () => {
        const rows = await vigil.handle.db
          .selectFrom('outbox')
          .select('completed_at')
          .where('topic', '=', 'act')
          .where(sql<string>`payload->>'actionId'`, '=', byKind.revoke_sessions.id)
          .execute();
        return rows.length === 4 && rows.every((row) => row.completed_at !== null);
      },
      20_000,
      'every delivery of the act job to finish',
    );
    executor.latencyMs = 0;
    expect(executor.callsWithKey(`vigil-action-${byKind.revoke_sessions.id}`)).toHaveLength(1);

    const noReason = await vigil.api('POST', `/api/actions/${byKind.disable_user.id}/reject`, {}, alice.as);
    expect(noReason.status).toBe(400);
    expect((await json(noReason)).error.code).toBe('action.reason_required');
    const rejected = await vigil.api(
      'POST',
      `/api/actions/${byKind.disable_user.id}/reject`,
      { reason: 'sessions revoked is enough for now' },
      alice.as,
    );
    expect(rejected.status).toBe(200);
    const again = await vigil.api('POST', `/api/actions/${byKind.disable_user.id}/approve`, {}, bob.as);
    expect(again.status).toBe(409);
    expect((await json(again)).error.code).toBe('action.already_decided');

    for (const kind of ['block_indicator', 'revoke_oauth_consent']) {
      expect((await vigil.api('POST', `/api/actions/${byKind[kind].id}/approve`, {}, bob.as)).status).toBe(
        200,
      );
    }
    const detail = await settled(byKind.revoke_sessions.investigationId, ['partially_remediated']);
    expect(detail.actions.map((a: any) => [a.kind, a.status]).sort()).toEqual([
      ['block_indicator', 'done'],
      ['disable_user', 'rejected'],
      ['revoke_oauth_consent', 'done'],
      ['revoke_sessions', 'done'],
    ]);
    expect(detail.actions.find((a: any) => a.kind === 'disable_user').decisions[0]).toMatchObject({
      approverKey: `person:${alice.personId}`,
      decision: 'reject',
      reason: 'sessions revoked is enough for now',
    });
    // Two workers, three approvals: each action reached the executor exactly once.
    for (const action of detail.actions.filter((a: any) => a.status === 'done')) {
      expect(executor.callsWithKey(`vigil-action-${action.id}`)).toHaveLength(1);
    }
    const audit = (await json(await vigil.api('GET', `/api/alerts/${detail.triggerAlertId}`))).audit.map(
      (a: any) => a.action,
    );
    expect(audit).toEqual(
      expect.arrayContaining([
        'action.approved',
        'action.rejected',
        'action.done',
        'investigation.status_changed',
      ]),
    );
  });

  it('needs two approvers for a privileged user, refuses the requester and viewers', async () => {
    const alertId = await ingest({
      title: 'Admin account compromised',
      source: 'manual',
      severity: 'high',
      id: 'm-1',
      entities: [{ kind: 'user', id: 'root@contoso.com', attributes: { privileged: true } }],
    });
    await vigil.api('POST', '/api/watchlist', {
      kind: 'user',
      value: 'root@contoso.com',
      reason: 'leaked credentials',
    });
    // Started by hand by carol: carol requested its actions, so carol cannot approve them.
    const started = await vigil.api('POST', `/api/alerts/${alertId}/investigate`, undefined, carol.as);
    expect(started.status).toBe(202);
    const { investigationId } = await json(started);
    const twice = await vigil.api('POST', `/api/alerts/${alertId}/investigate`, undefined, carol.as);
    expect(await json(twice)).toMatchObject({ investigationId, created: false });

    const detail = await settled(investigationId, ['pending_approval']);
    const revoke = detail.pendingActions.find((a: any) => a.kind === 'revoke_sessions');
    expect(revoke).toMatchObject({ approvalsNeeded: 2, requestedBy: { personId: carol.personId } });

    const byRequester = await vigil.api('POST', `/api/actions/${revoke.id}/approve`, {}, carol.as);
    expect(byRequester.status).toBe(403);
    expect((await json(byRequester)).error.code).toBe('action.requester_cannot_approve');

    // A viewer is refused by the command layer, whatever the surface.
    const viewerPerson = await personOf(vigil, { kind: 'user', platform: 'slack', id: 'UVIEWER' });
    const deps = { handle: vigil.handle, clock: systemClock };
    const viewer = await decideAction(deps, viewerPerson, { actionId: revoke.id, decision: 'approve' });
    expect(!viewer.ok && viewer.error.code).toBe('action.not_approver');
    const refusedStart = await startInvestigation(deps, viewerPerson, { alertId });
    expect(!refusedStart.ok && refusedStart.error.code).toBe('auth.forbidden');

    const first = await vigil.api('POST', `/api/actions/${revoke.id}/approve`, {}, alice.as);
    expect(first.status).toBe(202);
    expect((await json(first)).error).toMatchObject({
      code: 'action.needs_second_approver',
      details: { recorded: true },
    });
    const sameAgain = await vigil.api('POST', `/api/actions/${revoke.id}/approve`, {}, alice.as);
    expect((await json(sameAgain)).error.code).toBe('action.already_decided');
    expect(executor.callsWithKey(`vigil-action-${revoke.id}`)).toHaveLength(0);

    const secondApproval = await vigil.api('POST', `/api/actions/${revoke.id}/approve`, {}, bob.as);
    expect(secondApproval.status).toBe(200);
    expect((await json(secondApproval)).action.decisions.map((d: any) => d.approverKey)).toEqual([
      `person:${alice.personId}`,
      `person:${bob.personId}`,
    ]);
    await eventually(
      async () => executor.callsWithKey(`vigil-action-${revoke.id}`).length === 1,
      20_000,
      'the call',
    );

    const audit = (await json(await vigil.api('GET', `/api/alerts/${alertId}`))).audit.map(
      (a: any) => a.action,
    );
    expect(audit).toEqual(
      expect.arrayContaining([
        'action.decision_refused',
        'action.approval_recorded',
        'alert.investigate_refused',
      ]),
    );
  });

  it('grows its scope when a related alert arrives mid-run, and runs again', async () => {
    await addRule({
      name: 'Devices',
      source: 't4',
      playbook: {
        name: 'Slow',
        steps: { default: [{ key: 'watchlist', provider: 'watchlist' }, httpStep({ timeoutMs: 5_000 })] },
      },
    });
    enrichment.behaviours.set('user:u4@contoso.com', {
      verdict: 'suspicious',
      reason: 'odd hours',
      latencyMs: 800,
    });
    const first = await ingest({
      title: 'Malware on d4',
      source: 't4',
      severity: 'high',
      id: 't4-1',
      entities: [
        { kind: 'user', id: 'u4@contoso.com' },
        { kind: 'device', id: 'd4' },
      ],
    });
    const summary = await investigationOf(first);
    await enrichment.nextCall((call) => call.key === 'u4@contoso.com');
    // Mid-run: a different source, no rule of its own, but the same user.
    const related = await ingest({
      title: 'Odd sign-in for u4',
      source: 'idp-t4',
      severity: 'low',
      id: 't4-2',
      entities: [
        { kind: 'user', id: 'u4@contoso.com' },
        { kind: 'device', id: 'd5' },
      ],
    });
    const joined = await investigationOf(related);
    expect(joined).toMatchObject({ id: summary.id, reason: 'shared_entity' });

    const detail = await settled(summary.id, ['pending_approval']);
    expect(detail.scopeRound).toBe(2);
    expect(detail.alerts.map((a: any) => a.id)).toEqual([first, related]);
    expect(detail.entities.map((e: any) => `${e.kind}:${e.key}`).sort()).toEqual([
      'device:d4',
      'device:d5',
      'user:u4@contoso.com',
    ]);
    const round2 = detail.log.filter((step: any) => step.attemptScope === 'round-2');
    expect(round2.map((step: any) => step.stepKey)).toEqual(['watchlist', 'threat-intel']);
    // Every step at most once per round.
    const keys = detail.log.map((step: any) => `${step.attemptScope}/${step.stepKey}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(detail.pendingActions.map((a: any) => a.kind)).toEqual(['revoke_sessions']);
  });

  it('logs an enrichment step that times out or answers garbage, and goes on', async () => {
    enrichment.behaviours.set('user:slow@contoso.com', { latencyMs: 3_000 });
    enrichment.behaviours.set('user:junk@contoso.com', { garbage: true });
    await vigil.api('POST', '/api/watchlist', {
      kind: 'device',
      value: 'd6',
      reason: 'known bad build',
      verdict: 'suspicious',
    });
    await addRule({
      name: 'Flaky intel',
      source: 't5',
      playbook: {
        name: 'Flaky',
        steps: {
          default: [
            { ...httpStep({ timeoutMs: 300, retries: 1 }), key: 'slow-intel' },
            {
              ...httpStep(),
              key: 'junk-intel',
              params: { ...httpStep().params, url: `${enrichment.url}/lookup/{kind}/junk@contoso.com` },
            },
            { key: 'watchlist', provider: 'watchlist' },
          ],
        },
      },
    });
    const alertId = await ingest({
      title: 'Flaky',
      source: 't5',
      severity: 'high',
      id: 't5-1',
      entities: [
        { kind: 'user', id: 'slow@contoso.com' },
        { kind: 'device', id: 'd6' },
      ],
    });
    const summary = await investigationOf(alertId);
    const detail = await settled(summary.id, [
      'pending_approval',
      'no_threats_found',
      'partially_remediated',
    ]);
    const log = Object.fromEntries(detail.log.map((step: any) => [step.stepKey, step]));
    expect(log['slow-intel']).toMatchObject({ outcome: 'failed' });
    expect(log['slow-intel'].error).toMatch(/timed out after 300 ms/);
    expect(log['junk-intel']).toMatchObject({ outcome: 'failed' });
    expect(log['junk-intel'].error).toMatch(/not JSON/);
    expect(log.watchlist).toMatchObject({ outcome: 'succeeded', error: null });
    expect(detail.entities.find((e: any) => e.key === 'd6')).toMatchObject({ verdict: 'suspicious' });
    // Suspicious devices get no action of their own: threats found, nothing to approve.
    expect(detail.status).toBe('partially_remediated');
    expect(enrichment.callsFor('user', 'slow@contoso.com')).toHaveLength(2);
  });

  it('runs actions at once under full automation, and records a refused execution as failed with its reason', async () => {
    await addRule({
      name: 'Auto block',
      source: 't6',
      automation: 'full',
      playbook: { name: 'Watch', steps: { default: [{ key: 'watchlist', provider: 'watchlist' }] } },
    });
    await vigil.api('POST', '/api/watchlist', { kind: 'ip', value: '198.51.100.77', reason: 'scanner' });
    executor.failNext(1, 400);
    const alertId = await ingest({
      title: 'Scan',
      source: 't6',
      severity: 'high',
      id: 't6-1',
      entities: [{ kind: 'ip', id: '198.51.100.77' }],
    });
    const summary = await investigationOf(alertId);
    const detail = await settled(summary.id, ['failed']);
    expect(detail.actions).toHaveLength(1);
    expect(detail.actions[0]).toMatchObject({ kind: 'block_indicator', status: 'failed', decisions: [] });
    expect(detail.actions[0].error).toMatch(/answered 400/);
    expect(executor.callsWithKey(`vigil-action-${detail.actions[0].id}`)).toHaveLength(1);
    const audit = (await json(await vigil.api('GET', `/api/alerts/${alertId}`))).audit.map(
      (a: any) => a.action,
    );
    expect(audit).toEqual(
      expect.arrayContaining(['action.approved_by_policy', 'action.running', 'action.failed']),
    );
  });

  it('manages rules and the watchlist through the API', async () => {
    const bad = await vigil.api('POST', '/api/investigation-rules', {
      name: 'x',
      playbook: { name: 'x', steps: { other: [{ key: 'a', provider: 'watchlist' }] } },
    });
    expect(bad.status).toBe(400);
    const rule = await addRule({ name: 'Temporary', source: 'tmp', automation: 'none' });
    expect(rule).toMatchObject({
      automation: 'none',
      minSeverity: 'informational',
      playbook: { name: 'Default' },
    });
    expect(
      (await json(await vigil.api('GET', '/api/investigation-rules'))).rules.map((r: any) => r.id),
    ).toContain(rule.id);
    expect((await vigil.api('DELETE', `/api/investigation-rules/${rule.id}`)).status).toBe(204);
    expect((await vigil.api('DELETE', `/api/investigation-rules/${rule.id}`)).status).toBe(404);
    const entries = (await json(await vigil.api('GET', '/api/watchlist'))).entries;
    expect(entries.map((e: any) => e.value)).toContain('203.0.113.9');
    expect((await vigil.api('DELETE', `/api/watchlist/${entries[0].id}`)).status).toBe(204);
    expect((await vigil.api('GET', '/api/investigations/00000000-0000-0000-0000-000000000000')).status).toBe(
      404,
    );
    expect((await vigil.api('POST', '/api/actions/nope/approve', {})).status).toBe(404);
  });
});
