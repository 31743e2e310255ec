import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionKind, ActionTarget } from '../../src/domain/index.js';
import { defenderExecutor } from '../../src/integrations/executors/defender.js';
import { graphExecutor } from '../../src/integrations/executors/graph.js';
import { executorFor, PermanentExecutionError } from '../../src/integrations/executors/index.js';
import { webhookExecutor } from '../../src/integrations/executors/webhook.js';
import { staticBearer } from '../../src/integrations/http-retry.js';
import { FakeExecutor } from '../fakes/executor.js';

let remote: FakeExecutor;
beforeAll(async () => {
  remote = await new FakeExecutor('webhook-secret-0123456789').start();
});
afterAll(async () => {
  await remote?.stop();
});

const target = (kind: ActionTarget['kind'], key: string): ActionTarget => ({
  kind,
  key,
  displayName: key,
  count: 1,
  privileged: false,
});
const request = (kind: ActionKind, on: ActionTarget, evidence: Record<string, unknown> = {}) => ({
  actionId: `a-${Math.random().toString(36).slice(2)}`,
  kind,
  target: on,
  reason: 'bench',
  evidence,
  idempotencyKey: `key-${Math.random().toString(36).slice(2)}`,
});
const signal = () => AbortSignal.timeout(10_000);

describe('action executors against a local remote', () => {
  it('webhook: signs, sends the idempotency key, retries 503 with backoff, and fails at once on 400', async () => {
    const webhook = webhookExecutor({
      url: `${remote.url}/hook`,
      secret: 'webhook-secret-0123456789',
      timeoutMs: 2_000,
      retries: 2,
    });
    remote.failNext(2);
    const sent = request('isolate_device', target('device', 'd1'));
    await expect(webhook.execute(sent, signal())).resolves.toMatchObject({ executor: 'webhook' });
    const calls = remote.callsWithKey(sent.idempotencyKey);
    expect(calls).toHaveLength(3);
    expect(calls.every((call) => call.signatureValid === true)).toBe(true);
    expect(remote.applied.get(sent.idempotencyKey)).toBe(1);

    remote.failNext(1, 400);
    const refused = request('isolate_device', target('device', 'd2'));
    await expect(webhook.execute(refused, signal())).rejects.toBeInstanceOf(PermanentExecutionError);
    expect(remote.callsWithKey(refused.idempotencyKey)).toHaveLength(1);

    remote.failNext(5);
    const down = request('isolate_device', target('device', 'd3'));
    await expect(webhook.execute(down, signal())).rejects.toThrow(/after 3 attempt\(s\).*503/);
    remote.failNext(0);
  });

  it('webhook: gives up on a remote slower than its timeout', async () => {
    const webhook = webhookExecutor({
      url: `${remote.url}/hook`,
      secret: 'webhook-secret-0123456789',
      timeoutMs: 200,
      retries: 0,
    });
    remote.latencyMs = 1_000;
    try {
      await expect(
        webhook.execute(request('block_indicator', target('ip', '1.2.3.4')), signal()),
      ).rejects.toThrow(/timed out after 200 ms/);
    } finally {
      remote.latencyMs = 0;
    }
  });

  it('Graph: revokes sessions, disables the account, deletes an app’s grants', async () => {
    const graph = graphExecutor({
      baseUrl: remote.url,
      bearer: staticBearer('graph-token'),
      timeoutMs: 2_000,
      retries: 0,
    });
    const user = target('user', 'adele@contoso.com');
    for (const [kind, on] of [
      ['revoke_sessions', user],
      ['disable_user', user],
      ['revoke_oauth_consent', target('app', 'app-1')],
    ] as const) {
      const sent = request(kind, on);
      await graph.execute(sent, signal());
      const calls = remote.callsWithKey(sent.idempotencyKey).map((call) => `${call.method} ${call.path}`);
      expect(calls).toEqual(
        {
          revoke_sessions: ['POST /users/adele%40contoso.com/revokeSignInSessions'],
          disable_user: ['PATCH /users/adele%40contoso.com'],
          revoke_oauth_consent: [
            'GET /oauth2PermissionGrants?$filter=clientId%20eq%20%27app-1%27',
            'DELETE /oauth2PermissionGrants/grant-1',
          ],
        }[kind],
      );
    }
    const patch = remote.calls.find((call) => call.method === 'PATCH');
    expect(patch?.body).toEqual({ accountEnabled: false });
  });

  it('Defender: isolates machines, quarantines files, blocks indicators', async () => {
    const defender = defenderExecutor({
      baseUrl: remote.url,
      bearer: staticBearer('mde-token'),
      timeoutMs: 2_000,
      retries: 0,
    });
    const cases = [
      [request('isolate_device', target('device', 'm1')), 'POST /api/machines/m1/isolate', 'IsolationType'],
      [
        request('quarantine_file', target('file', 'a'.repeat(40)), { deviceId: 'm2' }),
        'POST /api/machines/m2/StopAndQuarantineFile',
        'Sha1',
      ],
      [
        request('quarantine_file', target('file', 'b'.repeat(64))),
        'POST /api/indicators',
        'BlockAndRemediate',
      ],
      [request('block_indicator', target('ip', '203.0.113.9')), 'POST /api/indicators', 'IpAddress'],
      [request('block_indicator', target('url', 'https://evil.example/x')), 'POST /api/indicators', 'Url'],
    ] as const;
    for (const [sent, route, mentions] of cases) {
      await defender.execute(sent, signal());
      const [call] = remote.callsWithKey(sent.idempotencyKey);
      expect(`${call?.method} ${call?.path}`).toBe(route);
      expect(JSON.stringify(call?.body)).toContain(mentions);
    }
  });

  it('routes each kind to Graph, Defender or the webhook, and names what to set when none is configured', async () => {
    const all = executorFor({
      VIGIL_EXECUTOR_TIMEOUT_MS: 1_000,
      VIGIL_GRAPH_TOKEN: 'graph-token',
      VIGIL_DEFENDER_TOKEN: 'mde-token',
      VIGIL_EXECUTOR_WEBHOOK_URL: `${remote.url}/hook`,
      VIGIL_EXECUTOR_WEBHOOK_SECRET: 'executor-secret-0123456789',
    });
    expect(all('disable_user').name).toBe('graph');
    expect(all('isolate_device').name).toBe('defender');
    const webhookOnly = executorFor({
      VIGIL_EXECUTOR_TIMEOUT_MS: 1_000,
      VIGIL_EXECUTOR_WEBHOOK_URL: `${remote.url}/hook`,
      VIGIL_EXECUTOR_WEBHOOK_SECRET: 'executor-secret-0123456789',
    });
    expect(webhookOnly('disable_user').name).toBe('webhook');
    const none = executorFor({ VIGIL_EXECUTOR_TIMEOUT_MS: 1_000 })('isolate_device');
    await expect(none.execute(request('isolate_device', target('device', 'x')), signal())).rejects.toThrow(
      /VIGIL_EXECUTOR_WEBHOOK_URL/,
    );
  });

  it('demo: simulates only what no configured executor does, and says so', async () => {
    const demo = executorFor({ VIGIL_EXECUTOR_TIMEOUT_MS: 1_000, VIGIL_DEMO_EXECUTOR: true });
    expect(demo('isolate_device').name).toBe('demo');
    await expect(
      demo('isolate_device').execute(request('isolate_device', target('device', 'FIN-WS-17')), signal()),
    ).resolves.toMatchObject({ executor: 'demo', simulated: true, wouldHave: 'Isolate device: FIN-WS-17' });
    // A configured executor is never replaced by the simulation.
    const real = executorFor({
      VIGIL_EXECUTOR_TIMEOUT_MS: 1_000,
      VIGIL_DEMO_EXECUTOR: true,
      VIGIL_GRAPH_TOKEN: 'graph-token',
    });
    expect(real('disable_user').name).toBe('graph');
    expect(real('isolate_device').name).toBe('demo');
  });
});
