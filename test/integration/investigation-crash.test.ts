import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeEnrichment } from '../fakes/enrichment.js';
import { FakeExecutor } from '../fakes/executor.js';
import {
  eventually,
  startTestVigil,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  type TestVigil,
} from '../helpers/harness.js';

// A worker process killed with SIGKILL mid-step and mid-call leaves its BullMQ jobs locked until
// the lock expires (30 s) and a stalled check (every 30 s) hands them to another worker: this
// file waits for that, as production would.
const RECOVERY_MS = 150_000;

let web: TestVigil;
let rescuer: TestVigil | undefined;
let child: ChildProcess | undefined;
let enrichment: FakeEnrichment;
let executor: FakeExecutor;

const workerEnv = () => ({
  VIGIL_EXECUTOR_WEBHOOK_URL: `${executor.url}/webhook`,
  VIGIL_EXECUTOR_WEBHOOK_SECRET: 'executor-secret-0123456789',
  VIGIL_ACTION_LEASE_MS: '3000',
  VIGIL_EXECUTOR_TIMEOUT_MS: '2000',
});

beforeAll(async () => {
  enrichment = await new FakeEnrichment().start();
  executor = await new FakeExecutor().start();
  // The web role only: the jobs go to the worker process below.
  web = await startTestVigil({ roles: { web: true, worker: false }, env: workerEnv() });
  child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'worker'], {
    env: {
      ...process.env,
      ...workerEnv(),
      DATABASE_URL: TEST_DATABASE_URL,
      REDIS_URL: TEST_REDIS_URL,
      VIGIL_DB_SCHEMA: web.schema,
      VIGIL_QUEUE_PREFIX: web.prefix,
      LOG_LEVEL: 'silent',
    },
    stdio: 'ignore',
  });
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await rescuer?.close();
  await web?.close();
  await enrichment?.stop();
  await executor?.stop();
});

const json = async (response: Response) => (await response.json()) as any;

async function ingest(body: Record<string, unknown>): Promise<string> {
  const response = await web.ingest('generic', body);
  expect(response.status).toBe(202);
  return (await json(response)).alerts[0].id as string;
}

async function investigationOf(alertId: string): Promise<string> {
  return eventually(
    async () =>
      (await json(await web.api('GET', `/api/alerts/${alertId}`))).investigations[0]?.id as
        | string
        | undefined,
    20_000,
    'an investigation',
  );
}

describe('a worker killed mid-step and mid-action', () => {
  it('resumes on another worker without duplicating step results or executions', {
    timeout: 180_000,
  }, async () => {
    const steps = [
      { key: 'watchlist', provider: 'watchlist' },
      {
        key: 'slow-intel',
        provider: 'http',
        params: {
          url: `${enrichment.url}/lookup/{kind}/{key}`,
          kinds: ['user'],
          verdictField: 'data.verdict',
          timeoutMs: 20_000,
          retries: 0,
        },
      },
    ];
    for (const [source, automation] of [
      ['crash-step', 'semi'],
      ['crash-act', 'full'],
    ]) {
      const rule = await web.api('POST', '/api/investigation-rules', {
        name: source,
        source,
        automation,
        playbook: { name: source, steps: { default: steps } },
      });
      expect(rule.status).toBe(201);
    }
    await web.api('POST', '/api/watchlist', { kind: 'ip', value: '198.51.100.66', reason: 'C2' });

    // 1. An action under full automation: approved by policy, its call hangs at the executor.
    executor.latencyMs = 15_000;
    const actAlert = await ingest({
      title: 'C2 beacon',
      source: 'crash-act',
      severity: 'high',
      id: 'act-1',
      entities: [{ kind: 'ip', id: '198.51.100.66' }],
    });
    const actInvestigation = await investigationOf(actAlert);
    const firstCall = await executor.nextCall(() => true);

    // 2. A step that hangs at the enrichment service.
    enrichment.behaviours.set('user:victim@contoso.com', {
      verdict: 'malicious',
      reason: 'spray',
      latencyMs: 15_000,
    });
    const stepAlert = await ingest({
      title: 'Spray victim',
      source: 'crash-step',
      severity: 'high',
      id: 'step-1',
      entities: [{ kind: 'user', id: 'victim@contoso.com' }],
    });
    const stepInvestigation = await investigationOf(stepAlert);
    await enrichment.nextCall((call) => call.key === 'victim@contoso.com');

    // 3. Kill the worker process mid-step and mid-call; start another worker on the same install.
    child?.kill('SIGKILL');
    child = undefined;
    enrichment.behaviours.set('user:victim@contoso.com', { verdict: 'malicious', reason: 'spray' });
    executor.latencyMs = 0;
    rescuer = await startTestVigil({ joining: web, roles: { web: false, worker: true }, env: workerEnv() });

    const step = await eventually(
      async () => {
        const detail = await json(await web.api('GET', `/api/investigations/${stepInvestigation}`));
        return detail.status === 'pending_approval' ? detail : undefined;
      },
      RECOVERY_MS,
      'the step investigation to resume',
    );
    expect(step.log.map((s: any) => [s.stepKey, s.outcome])).toEqual([
      ['watchlist', 'succeeded'],
      ['slow-intel', 'succeeded'],
    ]);
    // The step ran twice (killed, then resumed) and its result was written once.
    expect(enrichment.callsFor('user', 'victim@contoso.com')).toHaveLength(2);
    const stepAudit = (await json(await web.api('GET', `/api/alerts/${stepAlert}`))).audit.filter(
      (a: any) => a.action === 'investigation.step_succeeded',
    );
    expect(stepAudit.map((a: any) => a.details.step)).toEqual(['watchlist', 'slow-intel']);
    expect(step.actions.map((a: any) => a.kind).sort()).toEqual(['disable_user', 'revoke_sessions']);

    const act = await eventually(
      async () => {
        const detail = await json(await web.api('GET', `/api/investigations/${actInvestigation}`));
        return detail.status === 'remediated' ? detail : undefined;
      },
      RECOVERY_MS,
      'the action to be executed by the new worker',
    );
    const [action] = act.actions;
    expect(action).toMatchObject({ kind: 'block_indicator', status: 'done' });
    const key = `vigil-action-${action.id}`;
    expect(firstCall.idempotencyKey).toBe(key);
    // Called again under the same key after the crash; the remote applied it once.
    expect(executor.callsWithKey(key).length).toBeGreaterThanOrEqual(2);
    expect(executor.applied.get(key)).toBe(1);
    expect(executor.calls.every((call) => call.idempotencyKey === key)).toBe(true);
    const execution = await web.handle.db
      .selectFrom('action_executions')
      .selectAll()
      .where('action_id', '=', action.id)
      .executeTakeFirstOrThrow();
    expect(execution).toMatchObject({ status: 'done', attempts: 2 });
  });
});
