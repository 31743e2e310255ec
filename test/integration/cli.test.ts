import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/storage/embedded-postgres.js';

const cli = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });

describe('vigil command line', () => {
  it('lists every configuration problem at once, by name, without printing secrets', () => {
    const result = cli(['serve'], {
      PORT: 'eighty',
      REDIS_URL: 'http://not-redis',
      VIGIL_INGEST_TOKEN: 'short-secret',
      SLACK_BOT_TOKEN: 'xoxb-super-secret-value',
      VIGIL_ADMINS: 'slack:U1,nobody',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PORT: must be a whole number');
    expect(result.stderr).toContain('REDIS_URL: must be a URL');
    expect(result.stderr).toContain('VIGIL_INGEST_TOKEN: must be at least 16 characters');
    expect(result.stderr).toContain('VIGIL_ADMINS: "nobody" is not a user key');
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
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'demo'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/root',
        VIGIL_DATA_DIR: dataDir,
        PORT: String(port),
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
    try {
      const deadline = Date.now() + 90_000;
      while (!output.includes('Press Ctrl-C to stop') && Date.now() < deadline && child.exitCode === null) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(output).toContain('Vigil demo is running');
      for (const format of ['graph', 'alertmanager', 'grafana', 'pagerduty', 'generic']) {
        expect(output).toMatch(new RegExp(`${format}\\s+stored`));
      }
      const tokens = JSON.parse(await readFile(path.join(dataDir, 'demo-tokens.json'), 'utf8')) as {
        api: string;
      };
      const list = (await (
        await fetch(`http://127.0.0.1:${port}/api/alerts`, {
          headers: { authorization: `Bearer ${tokens.api}` },
        })
      ).json()) as { alerts: { source: string }[] };
      expect(list.alerts.map((alert) => alert.source).sort()).toEqual([
        'alertmanager',
        'grafana',
        'graph',
        'idp',
        'pagerduty',
      ]);
    } finally {
      const exited =
        child.exitCode === null
          ? new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
          : Promise.resolve(child.exitCode);
      child.kill('SIGINT');
      expect(await exited, output).toBe(0);
    }
  }, 120_000);
});
