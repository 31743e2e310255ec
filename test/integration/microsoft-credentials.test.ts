import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import type { ActionKind } from '../../src/domain/index.js';
import { executorFor } from '../../src/integrations/executors/index.js';
import { microsoftAccess } from '../../src/integrations/microsoft/access.js';
import { doctorGraph } from '../../src/integrations/microsoft/doctor.js';
import {
  DEFENDER_SCOPE,
  EntraTokenClient,
  GRAPH_SCOPE,
  TokenRequestError,
} from '../../src/integrations/microsoft/entra-token.js';
import { FakeEntraToken } from '../fakes/entra-token.js';
import { FakeGraph } from '../fakes/graph.js';

let entra: FakeEntraToken;
let graph: FakeGraph;
beforeAll(async () => {
  entra = await new FakeEntraToken().start();
  graph = await new FakeGraph({ entra }).start();
});
afterAll(async () => {
  await graph?.stop();
  await entra?.stop();
});

const credentials = () => ({
  VIGIL_GRAPH_TENANT_ID: entra.tenantId,
  VIGIL_GRAPH_CLIENT_ID: entra.clientId,
  VIGIL_GRAPH_CLIENT_SECRET: entra.clientSecret,
  VIGIL_GRAPH_AUTHORITY_URL: entra.url,
});
const client = (now?: () => number) =>
  new EntraTokenClient({
    authorityUrl: entra.url,
    tenantId: entra.tenantId,
    clientId: entra.clientId,
    clientSecret: entra.clientSecret,
    ...(now === undefined ? {} : { now }),
  });
const tokenRequests = (scope: string) => entra.requests.filter((request) => request.scope === scope).length;

describe('Entra ID client credentials', () => {
  it('caches a token per audience until shortly before it expires, with one request for concurrent callers', async () => {
    let now = Date.now();
    const tokens = client(() => now);
    const before = { graph: tokenRequests(GRAPH_SCOPE), defender: tokenRequests(DEFENDER_SCOPE) };
    const burst = await Promise.all(Array.from({ length: 10 }, () => tokens.token(GRAPH_SCOPE)));
    expect(new Set(burst).size).toBe(1);
    expect(await tokens.token(GRAPH_SCOPE)).toBe(burst[0]);
    expect(tokenRequests(GRAPH_SCOPE) - before.graph).toBe(1);

    // Graph and Defender are different audiences: each has its own token.
    const defender = await tokens.token(DEFENDER_SCOPE);
    expect(defender).not.toBe(burst[0]);
    expect(tokenRequests(DEFENDER_SCOPE) - before.defender).toBe(1);

    // 3599 s tokens are renewed five minutes before they expire, not after.
    now += (3599 - 301) * 1000;
    await tokens.token(GRAPH_SCOPE);
    expect(tokenRequests(GRAPH_SCOPE) - before.graph).toBe(1);
    now += 2_000;
    await tokens.token(GRAPH_SCOPE);
    expect(tokenRequests(GRAPH_SCOPE) - before.graph).toBe(2);
  });

  it('waits out 429 (as Retry-After says) and 503 from the token endpoint', async () => {
    const tokens = client();
    const before = entra.requests.length;
    entra.failNext(2, 429, 1);
    await expect(tokens.token(GRAPH_SCOPE)).resolves.toMatch(/\./);
    entra.failNext(1, 503);
    await expect(tokens.token(DEFENDER_SCOPE)).resolves.toMatch(/\./);
    expect(entra.requests.slice(before).map((request) => request.status)).toEqual([429, 429, 200, 503, 200]);
  });

  it('refuses wrong credentials with Entra’s reason and never the secret', async () => {
    const wrong = new EntraTokenClient({
      authorityUrl: entra.url,
      tenantId: entra.tenantId,
      clientId: entra.clientId,
      clientSecret: 'not-the-secret-0123',
    });
    const error = await wrong.token(GRAPH_SCOPE).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenRequestError);
    expect((error as Error).message).toContain('invalid_client');
    expect((error as Error).message).toContain('AADSTS7000215');
    expect((error as Error).message).not.toContain('not-the-secret');
  });

  it('makes the Graph executors real with app credentials alone, and fetches a new token once on a 401', async () => {
    const settings = { ...credentials(), VIGIL_GRAPH_API_URL: graph.url, VIGIL_EXECUTOR_TIMEOUT_MS: 5_000 };
    const executors = executorFor(settings, microsoftAccess(settings));
    const request = (kind: ActionKind, key: string) => ({
      actionId: `a-${kind}`,
      kind,
      target: { kind: 'user' as const, key, displayName: key, count: 1, privileged: false },
      reason: 'test',
      evidence: {},
      idempotencyKey: `key-${kind}-${Math.random()}`,
    });
    const before = tokenRequests(GRAPH_SCOPE);
    await executors('disable_user').execute(
      request('disable_user', 'adele@contoso.com'),
      AbortSignal.timeout(10_000),
    );
    expect(graph.callsTo('PATCH', /\/users\/adele%40contoso\.com$/).map((call) => call.status)).toEqual([
      204,
    ]);

    // Tokens issued so far stop working at Graph (as after a revocation): one 401, one new token, done.
    entra.expireIssuedTokens();
    await executors('revoke_sessions').execute(
      request('revoke_sessions', 'adele@contoso.com'),
      AbortSignal.timeout(10_000),
    );
    expect(graph.callsTo('POST', /revokeSignInSessions$/).map((call) => call.status)).toEqual([401, 200]);
    expect(tokenRequests(GRAPH_SCOPE) - before).toBe(2);
  });
});

describe('configuration', () => {
  it('wants the app credentials as a set of three and names the missing ones', () => {
    const error = (() => {
      try {
        loadConfig({ VIGIL_GRAPH_TENANT_ID: 'tenant', VIGIL_GRAPH_CLIENT_SECRET: 'secret-value-123' });
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(
        /^VIGIL_GRAPH_CLIENT_ID: is required with VIGIL_GRAPH_TENANT_ID and VIGIL_GRAPH_CLIENT_SECRET/,
      ),
    ]);
    expect((error as Error).message).not.toContain('secret-value-123');
    expect(loadConfig({}).VIGIL_GRAPH_POLL_SECONDS).toBe(60);
  });
});

describe('vigil doctor graph', () => {
  it('says for each feature whether its permission is granted, and which one to grant', async () => {
    entra.roles.set('https://graph.microsoft.com', ['SecurityAlert.ReadWrite.All', 'User.ReadWrite.All']);
    entra.roles.set('https://api.securitycenter.microsoft.com', ['Machine.Isolate', 'Ti.ReadWrite.All']);
    const lines: string[] = [];
    const code = await doctorGraph(credentials(), (line) => lines.push(line));
    const out = lines.join('\n');
    expect(code).toBe(0);
    expect(out).toContain('ok       pull alerts (SecurityAlert.ReadWrite.All)');
    expect(out).toContain('ok       write back alert status and comments (SecurityAlert.ReadWrite.All)');
    expect(out).toContain(
      'missing  pull incidents: grant the application permission SecurityIncident.Read.All (Microsoft Graph); SecurityIncident.ReadWrite.All also work',
    );
    expect(out).toContain('ok       revoke sessions (User.ReadWrite.All)');
    expect(out).toContain(
      'missing  revoke OAuth consent: grant the application permission DelegatedPermissionGrant.ReadWrite.All',
    );
    expect(out).toContain('ok       isolate device (Machine.Isolate)');
    expect(out).toContain(
      'missing  quarantine file on a device: grant the application permission Machine.StopAndQuarantine (WindowsDefenderATP)',
    );
    expect(out).not.toContain(entra.clientSecret);
    expect(out).not.toMatch(/eyJ/);
  });

  it('runs from the command line and fails when no token can be had', async () => {
    const run = (env: Record<string, string>) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'doctor', 'graph'], {
          env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env },
        });
        let out = '';
        child.stdout.on('data', (chunk) => {
          out += String(chunk);
        });
        child.stderr.on('data', (chunk) => {
          out += String(chunk);
        });
        child.once('exit', (code) => resolve({ code, out }));
      });
    const good = await run(credentials());
    expect(good.out).toContain('ok       pull alerts');
    expect(good.code).toBe(0);
    const bad = await run({ ...credentials(), VIGIL_GRAPH_CLIENT_SECRET: 'wrong-secret-456' });
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('invalid_client');
    expect(bad.out).not.toContain('wrong-secret-456');
  }, 60_000);
});
