import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { redisAnswers } from '../../src/demo/redis-server.js';
import { SIMULATED_CREDENTIALS } from '../../src/demo/simulated-defender.js';
import { freePort } from '../../src/storage/embedded-postgres.js';
import {
  deleteRedisKeys,
  dropSchema,
  eventually,
  INGEST_TOKEN,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
} from '../helpers/harness.js';
import { CookieJar, followSignIn } from '../helpers/oidc-sign-in.js';
import { childrenOf, connectionsOnPort } from '../helpers/proc-connections.js';

const cli = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });

/** The formats the demo sends a sample of; Graph alerts come from its simulated Defender instead. */
const PUSHED = ['alertmanager', 'grafana', 'pagerduty', 'generic'];
/** The simulated Defender's alerts, by Graph ID (see src/demo/defender-alerts.ts). */
const DEFENDER_ALERTS = [
  'da637578995287051192_756343937',
  'adda21de253ca551df2175818825088751ac4ed5e365dae35a1a',
  'da638412345678901234_512345678',
];

/** The Graph URL and token endpoint of the demo's simulated Defender, as it prints them. */
function simulatedDefender(output: string) {
  const found = /Graph (http:\/\/127\.0\.0\.1:\d+\/v1\.0)\s+token endpoint (\S+)/.exec(output);
  expect(found, output).not.toBeNull();
  const [, graphUrl = '', tokenUrl = ''] = found ?? [];
  /** A Graph alert as the simulated Defender holds it, read as any Graph client would. */
  return async (graphId: string): Promise<{ status: string; comments: { comment: string }[] }> => {
    const token = (await (
      await fetch(tokenUrl, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: SIMULATED_CREDENTIALS.clientId,
          client_secret: SIMULATED_CREDENTIALS.clientSecret,
          scope: 'https://graph.microsoft.com/.default',
        }),
      })
    ).json()) as { access_token: string };
    const answer = await fetch(`${graphUrl}/security/alerts_v2/${graphId}`, {
      headers: { authorization: `Bearer ${token.access_token}` },
    });
    expect(answer.status).toBe(200);
    return (await answer.json()) as { status: string; comments: { comment: string }[] };
  };
}

/** A Java-style or Node stack frame line: what a person must never see when the demo stops. */
const STACK_FRAME = /^\s+at\s/m;

/**
 * Runs `vigil demo` in a process group of its own, as a terminal does, until it says it runs.
 * `stop` sends SIGINT to the whole group, as Ctrl-C does (the demo's children get it too).
 */
async function startDemo(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'demo', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 90_000;
  while (!output.includes('Press Ctrl-C to stop') && Date.now() < deadline && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    output: () => output,
    stop: async (): Promise<number | null> => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGINT');
      return exited;
    },
  };
}

describe('vigil command line', () => {
  it('lists every configuration problem at once, by name, without printing secrets', () => {
    const result = cli(['serve'], {
      PORT: 'eighty',
      REDIS_URL: 'http://not-redis',
      VIGIL_INGEST_TOKEN: 'short-secret',
      SLACK_BOT_TOKEN: 'xoxb-super-secret-value',
      VIGIL_ADMINS: 'slack:U1,nobody',
      VIGIL_OUTBOX_RETENTION_DAYS: '0',
      VIGIL_DB_APPLICATION_NAME: 'has spaces',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PORT: must be a whole number');
    expect(result.stderr).toContain('REDIS_URL: must be a URL');
    expect(result.stderr).toContain('VIGIL_INGEST_TOKEN: must be at least 16 characters');
    expect(result.stderr).toContain('VIGIL_ADMINS: "nobody" is not a user key');
    expect(result.stderr).toContain('VIGIL_OUTBOX_RETENTION_DAYS: must be a whole number from 1 to 3650');
    expect(result.stderr).toContain('VIGIL_DB_APPLICATION_NAME: must be 1 to 63 letters');
    expect(result.stderr).not.toContain('short-secret');
    expect(result.stderr).not.toContain('super-secret');
  });

  it('refuses to start with an open door: Teams dev mode off loopback, Teams without a tenant list, an unsigned action webhook', () => {
    const result = cli(['serve'], {
      HOST: '0.0.0.0',
      VIGIL_TEAMS_DEV: '1',
      MICROSOFT_APP_ID: '00000000-0000-0000-0000-000000000001',
      MICROSOFT_APP_PASSWORD: 'app-password-secret',
      VIGIL_EXECUTOR_WEBHOOK_URL: 'https://soar.example.com/hook',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('VIGIL_TEAMS_DEV: opens /api/messages without authentication');
    expect(result.stderr).toContain('HOST must be a loopback address');
    expect(result.stderr).toContain('VIGIL_TEAMS_TENANTS: is required with MICROSOFT_APP_ID');
    expect(result.stderr).toContain(
      'VIGIL_EXECUTOR_WEBHOOK_SECRET: is required with VIGIL_EXECUTOR_WEBHOOK_URL',
    );
    expect(result.stderr).not.toContain('app-password-secret');
  });

  it('refuses to serve without an ingest token', () => {
    const result = cli(['serve'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('VIGIL_INGEST_TOKEN: is required to serve');
  });

  it('explains an unknown command', () => {
    const result = cli(['launch'], {});
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('Unknown command "launch"');
    expect(result.stderr).toContain('demo');
  });

  it('migrates from two processes at once without error', async () => {
    const env = {
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      VIGIL_DB_SCHEMA: `cli_${process.pid}`,
    };
    const migrate = () =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'migrate'], {
          env: { PATH: process.env.PATH ?? '', ...env },
          stdio: 'ignore',
        });
        child.once('exit', resolve);
      });
    expect(await Promise.all([migrate(), migrate()])).toEqual([0, 0]);
    spawnSync('psql', [
      '-h',
      '127.0.0.1',
      '-U',
      'postgres',
      '-d',
      'test',
      '-c',
      `DROP SCHEMA ${env.VIGIL_DB_SCHEMA} CASCADE`,
    ]);
  });

  it('runs the demo on an embedded Postgres, stores the sample alerts, and stops on Ctrl-C', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'vigil-demo-'));
    const port = await freePort();
    const demo = await startDemo([], { VIGIL_DATA_DIR: dataDir, PORT: String(port) });
    const output = demo.output();
    try {
      expect(output).toContain('Vigil demo is running');
      for (const format of PUSHED) expect(output).toMatch(new RegExp(`${format}\\s+stored`));
      expect(output).toContain('Microsoft Defender: SIMULATED');
      const tokens = JSON.parse(await readFile(path.join(dataDir, 'demo-tokens.json'), 'utf8')) as {
        api: string;
      };
      const sources = async () =>
        (
          (await (
            await fetch(`http://127.0.0.1:${port}/api/alerts`, {
              headers: { authorization: `Bearer ${tokens.api}` },
            })
          ).json()) as { alerts: { source: string }[] }
        ).alerts
          .map((alert) => alert.source)
          .sort();
      // The Graph alerts arrive by the pull from the simulated Defender.
      const all = ['alertmanager', 'grafana', 'graph', 'graph', 'graph', 'idp', 'pagerduty'];
      await eventually(async () => (await sources()).join() === all.join(), 30_000, 'the pulled alerts');
    } finally {
      // Ctrl-C reaches the embedded Postgres too: the demo still stops cleanly, without a stack trace.
      expect(await demo.stop(), demo.output()).toBe(0);
      expect(demo.output()).toContain('Stopped.');
      expect(demo.output()).not.toMatch(STACK_FRAME);
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('demo on DATABASE_URL: approve works with the demo executor; a pulled Defender alert Dana resolves is resolved by her in the simulated Defender; a second run reuses the data and counts each alert once; --reset starts afresh', async () => {
    const schema = `demo_${process.pid}_${Date.now()}`;
    const port = await freePort();
    const env = {
      DATABASE_URL: TEST_DATABASE_URL,
      VIGIL_DB_SCHEMA: schema,
      VIGIL_DATA_DIR: await mkdtemp(path.join(tmpdir(), 'vigil-demo-db-')),
      PORT: String(port),
    };
    const base = `http://127.0.0.1:${port}`;
    const tokens = async () =>
      JSON.parse(await readFile(path.join(env.VIGIL_DATA_DIR, 'demo-tokens.json'), 'utf8')) as {
        api: string;
      };
    const api = async (method: string, route: string, body?: unknown) => {
      const response = await fetch(`${base}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${(await tokens()).api}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return (await response.json()) as any;
    };
    const occurrences = async () =>
      ((await api('GET', '/api/alerts?limit=100')).alerts as { source: string; occurrenceCount: number }[])
        .map((alert) => `${alert.source}:${alert.occurrenceCount}`)
        .sort();
    const ONCE = ['alertmanager:1', 'grafana:1', 'graph:1', 'graph:1', 'graph:1', 'idp:1', 'pagerduty:1'];
    const pulledSince = async (since: Date) => {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        // Incidents are pulled after alerts: a pull of incidents since `since` means a whole pull.
        const { rows } = await client.query(
          `SELECT 1 FROM "${schema}".graph_sync WHERE stream = 'incidents' AND updated_at > $1 AND lease_owner IS NULL`,
          [since],
        );
        return rows.length > 0;
      } finally {
        await client.end();
      }
    };
    try {
      // First run: samples stored, a private redis-server, no chat platform.
      const first = await startDemo([], env);
      let redisUrl = '';
      try {
        expect(first.output()).toContain('Vigil demo is running');
        for (const format of PUSHED) expect(first.output()).toMatch(new RegExp(`${format}\\s+stored`));
        expect(first.output()).toMatch(/graph\s+pulled from the simulated Defender/);
        redisUrl =
          first.output().match(/Redis: a private redis-server at (redis:\/\/127\.0\.0\.1:\d+)/)?.[1] ?? '';
        expect(redisUrl, first.output()).not.toBe('');
        expect(first.output()).toContain('No chat platform is configured');
        await eventually(
          async () => (await occurrences()).join() === ONCE.join(),
          30_000,
          'the alerts of the simulated Defender pulled',
        );
        // One-click links for two named approvers, through the demo's own OpenID Connect provider:
        // two different people, each signed in by following the link alone (no form to fill in).
        expect(first.output()).toMatch(/OpenID Connect provider at http:\/\/127\.0\.0\.1:\d+/);
        const people = [];
        for (const name of ['Ada', 'Ben']) {
          const link = first.output().match(new RegExp(`${name}:\\s+(\\S+)`))?.[1] ?? '';
          expect(link, first.output()).toMatch(new RegExp(`^${base}/auth/login\\?login_hint=`));
          const jar = new CookieJar();
          const landed = await followSignIn(jar, base, link, 'nobody-types-here');
          expect(landed.headers.get('location')).toBe(`${base}/console/#/alerts`);
          const me = await fetch(`${base}/api/me`, { headers: { cookie: jar.header(base) } });
          people.push((await me.json()) as { personId: string; role: string; displayName: string });
        }
        expect(people.map(({ role, displayName }) => ({ role, displayName }))).toEqual([
          { role: 'approver', displayName: 'Ada (demo approver)' },
          { role: 'approver', displayName: 'Ben (demo approver)' },
        ]);
        expect(people[0]?.personId).not.toBe(people[1]?.personId);
        // Approve works end to end: the demo executor marks the action done, labelled simulated.
        const { actions } = await api('GET', '/api/actions');
        expect(actions.length).toBeGreaterThan(0);
        const approved = await api('POST', `/api/actions/${actions[0].id}/approve`, {});
        expect(approved.action.status).toBe('approved');
        const done = await eventually(
          async () => {
            const { action } = await api('GET', `/api/actions/${actions[0].id}`);
            return ['done', 'failed'].includes(action.status) ? action : undefined;
          },
          20_000,
          'the approved action to run',
        );
        expect(done).toMatchObject({
          status: 'done',
          error: null,
          result: { executor: 'demo', simulated: true },
        });

        // Dana resolves a pulled alert in Vigil: the simulated Defender holds it resolved, by Dana.
        const defenderAlert = simulatedDefender(first.output());
        // Dana signs in to the console with her one-click link, and acts through her session.
        const dana = new CookieJar();
        await followSignIn(dana, base, first.output().match(/Dana:\s+(\S+)/)?.[1] ?? '', 'dana');
        const { csrfToken } = (await (
          await fetch(`${base}/auth/session`, { headers: { cookie: dana.header(base) } })
        ).json()) as { csrfToken: string };
        const graphId = DEFENDER_ALERTS[2] as string;
        const { alerts: pulled } = await api('GET', '/api/alerts?source=graph&limit=10');
        const target = pulled.find((alert: { sourceId: string }) => alert.sourceId === graphId);
        expect(target, JSON.stringify(pulled)).toBeDefined();
        const resolved = await fetch(`${base}/api/alerts/${target.id}/status`, {
          method: 'POST',
          headers: {
            cookie: dana.header(base),
            'x-vigil-csrf': csrfToken,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ status: 'resolved', classification: 'true_positive', comment: 'Reimaged' }),
        });
        expect(resolved.status).toBe(200);
        const inDefender = await eventually(
          async () => {
            const alert = await defenderAlert(graphId);
            // The status PATCH and the comment POST are two calls: wait for both.
            return alert.status === 'resolved' && alert.comments.length > 0 ? alert : undefined;
          },
          20_000,
          'the simulated Defender to hold the alert resolved, with a comment',
        );
        expect(inDefender.comments.map((comment) => comment.comment).join('\n')).toMatch(
          /^Dana \(demo analyst\).* set this alert to Resolved.*Reimaged/m,
        );
        // The console's "In Defender" panel: resolved in Defender, by Dana.
        const detail = await eventually(
          async () => {
            const alert = await api('GET', `/api/alerts/${target.id}`);
            return alert.defender?.status === 'resolved' ? alert : undefined;
          },
          20_000,
          'the In Defender panel to show resolved',
        );
        expect(detail.statusChangedBy).toMatchObject({ name: 'Dana (demo analyst)' });
      } finally {
        expect(await first.stop(), first.output()).toBe(0);
      }
      expect(first.output()).not.toMatch(STACK_FRAME);
      // Its private Redis went with it.
      expect(await redisAnswers(redisUrl)).toBe(false);

      // Second run: the same data, nothing sent again, each sample counted once; Teams turned on.
      const secondStart = new Date();
      const second = await startDemo([], { ...env, VIGIL_TEAMS_DEV: '1' });
      try {
        expect(second.output()).toContain(`Reusing the data in schema "${schema}"`);
        expect(second.output()).not.toMatch(/\bstored\b/);
        expect(second.output()).toContain('Chat: Microsoft Teams');
        expect(second.output()).not.toContain('No chat platform is configured');
        // The simulated Defender kept its state: a whole pull later, nothing is doubled or reopened.
        await eventually(() => pulledSince(secondStart), 30_000, 'a pull in the second run');
        expect(await occurrences()).toEqual(ONCE);
        expect((await simulatedDefender(second.output())(DEFENDER_ALERTS[2] as string)).status).toBe(
          'resolved',
        );
        const { alerts: graphAlerts } = await api('GET', '/api/alerts?source=graph&limit=10');
        expect(graphAlerts.filter((alert: { status: string }) => alert.status === 'resolved').length).toBe(1);
        // The first run's investigation, and no second one.
        expect((await api('GET', '/api/investigations')).investigations).toHaveLength(1);
        // The console's own Sign in button: the provider asks who you are; Dana is the same person as before.
        const jar = new CookieJar();
        await followSignIn(jar, base, `${base}/auth/login?return=%23%2Finvestigations`, 'dana');
        const me = await fetch(`${base}/api/me`, { headers: { cookie: jar.header(base) } });
        expect(await me.json()).toMatchObject({ displayName: 'Dana (demo analyst)', role: 'approver' });
      } finally {
        expect(await second.stop(), second.output()).toBe(0);
      }

      // --reset: afresh, the samples stored again, once each, and one new investigation.
      const third = await startDemo(['--reset'], env);
      try {
        expect(third.output()).toContain(`--reset: dropped the schema "${schema}"`);
        expect(third.output()).toMatch(/alertmanager\s+stored/);
        await eventually(
          async () => (await occurrences()).join() === ONCE.join(),
          30_000,
          'the alerts of the simulated Defender pulled afresh',
        );
        expect((await api('GET', '/api/investigations')).investigations).toHaveLength(1);
      } finally {
        expect(await third.stop(), third.output()).toBe(0);
      }
    } finally {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
      await rm(env.VIGIL_DATA_DIR, { recursive: true, force: true });
    }
  }, 240_000);

  it('vigil web with two processes answers on one port and stops cleanly on SIGTERM', async () => {
    const schema = `web_${process.pid}_${Date.now()}`;
    const port = String(await freePort());
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'web'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/root',
        PORT: port,
        DATABASE_URL: TEST_DATABASE_URL,
        REDIS_URL: TEST_REDIS_URL,
        VIGIL_DB_SCHEMA: schema,
        VIGIL_QUEUE_PREFIX: schema,
        VIGIL_INGEST_TOKEN: INGEST_TOKEN,
        VIGIL_WEB_PROCESSES: '2',
        VIGIL_DB_POOL_SIZE: '4',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let terminated = false;
    try {
      await eventually(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200,
        60_000,
        'vigil web answering',
      );
      expect(output).toMatch(/"processes":2,"poolEach":2/);
      for (const id of ['one', 'two', 'three']) {
        const response = await fetch(`http://127.0.0.1:${port}/ingest/generic`, {
          method: 'POST',
          headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ title: `Cluster ${id}`, severity: 'high', source: 'cli-test', id }),
        });
        expect(response.status).toBe(202);
      }
      // Both processes started Vigil (each logs that it runs).
      await eventually(async () => (output.match(/Vigil is running/g) ?? []).length === 2, 30_000);

      // A burst of connections (a load balancer's pool, a load generator) is shared evenly.
      const processes = await childrenOf(child.pid as number);
      expect(processes).toHaveLength(2);
      const sockets = await Promise.all(
        Array.from(
          { length: 64 },
          () =>
            new Promise<net.Socket>((resolve, reject) => {
              const socket = net.connect(Number(port), '127.0.0.1', () => resolve(socket));
              socket.once('error', reject);
            }),
        ),
      );
      try {
        const ours = new Set(sockets.map((socket) => socket.localPort as number));
        await eventually(
          async () => {
            const held = await connectionsOnPort(processes, Number(port), ours);
            return held.every((n) => n === 32) ? held : undefined;
          },
          10_000,
          'the connections shared 32 and 32',
        );
      } finally {
        for (const socket of sockets) socket.destroy();
      }

      // A request in flight when SIGTERM comes is answered before its process exits.
      const slow = net.connect(Number(port), '127.0.0.1');
      let answer = '';
      slow.on('data', (chunk: Buffer) => {
        answer += chunk.toString();
      });
      const body = JSON.stringify({
        title: 'In flight at stop',
        severity: 'high',
        source: 'cli-test',
        id: 'slow',
      });
      slow.write(
        `POST /ingest/generic HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${INGEST_TOKEN}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      child.kill('SIGTERM');
      terminated = true;
      await new Promise((resolve) => setTimeout(resolve, 500));
      slow.write(body.slice(10));
      await eventually(async () => answer.startsWith('HTTP/1.1') || undefined, 20_000, 'an answer');
      expect(answer).toMatch(/^HTTP\/1\.1 202/);
      slow.destroy();
    } finally {
      // A second SIGTERM would exit at once (1): the test sends one unless it stopped Vigil itself.
      if (!terminated) child.kill('SIGTERM');
      expect(await exited, output).toBe(0);
      await expect(fetch(`http://127.0.0.1:${port}/readyz`)).rejects.toThrow();
      await dropSchema(schema);
      await deleteRedisKeys(schema);
    }
  }, 120_000);
});
