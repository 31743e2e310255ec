import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { grantRole } from '../app/commands/people.js';
import { createToken } from '../app/commands/tokens.js';
import { identify, identifyService } from '../app/identity.js';
import { startVigil } from '../app.js';
import { ConfigError, loadConfig } from '../config.js';
import { systemClock } from '../domain/index.js';
import { createLogger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import { startEmbeddedPostgres } from '../storage/embedded-postgres.js';
import { redisAnswers, startPrivateRedis } from './redis-server.js';
import { sampleAlerts } from './samples.js';

const DEFAULT_REDIS = 'redis://127.0.0.1:6379';

const REDIS_HELP = `Vigil needs Redis for its job queues, and none could be had:
  - nothing answers at ${DEFAULT_REDIS}, and
  - there is no redis-server on the PATH to start a private one.
Install Redis (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis),
or point REDIS_URL at one you have, then run npm run demo again.`;

/** Tokens made once per data directory, so a restarted demo keeps its curl lines valid. */
async function demoTokens(dataDir: string): Promise<{ ingest: string; api: string }> {
  const file = path.join(dataDir, 'demo-tokens.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as { ingest: string; api: string };
  } catch {
    const tokens = {
      ingest: randomBytes(18).toString('base64url'),
      api: randomBytes(18).toString('base64url'),
    };
    await writeFile(file, JSON.stringify(tokens), { mode: 0o600 });
    return tokens;
  }
}

/**
 * Dana, a demo approver with a personal token: a second person, so the console can show that
 * whoever asked for an action cannot approve it and high-impact actions need two people.
 */
async function demoAnalystToken(handle: DbHandle): Promise<string> {
  const deps = { handle, clock: systemClock };
  const service = await identifyService(handle.db);
  const dana = await identify(
    handle.db,
    { kind: 'user', platform: 'console', id: 'demo:dana', name: 'Dana (demo analyst)' },
    { admins: [], defaultRole: 'viewer' },
  );
  if (!service.ok || !dana.ok) throw new Error('the demo people could not be set up');
  await grantRole(deps, service.value, { personId: dana.value.personId, role: 'approver' });
  const created = await createToken(deps, { ...dana.value, role: 'approver' }, { name: 'demo' });
  if (!created.ok) throw new Error(created.error.message);
  return created.value.token;
}

/**
 * One investigation waiting for approval and one remediation with an exception, made through the
 * same API the console uses, so every console page has something to show. Best effort: a demo
 * whose Vigil lacks one of these APIs still runs, and says what it skipped.
 */
async function demoWorkItems(base: string, apiToken: string, analystToken: string): Promise<string[]> {
  const call = async (
    method: string,
    route: string,
    body?: unknown,
    token = apiToken,
  ): Promise<Record<string, unknown>> => {
    const response = await fetch(`${base}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${method} ${route} answered ${response.status}`);
    return (await response.json()) as Record<string, unknown>;
  };
  const lines: string[] = [];
  try {
    const travel = await call('GET', '/api/alerts?source=idp&limit=1');
    const alert = (travel.alerts as { id: string }[] | undefined)?.[0];
    if (alert === undefined) throw new Error('the sample idp alert is missing');
    // On the watchlist, Adele's account turns the investigation's verdict malicious: it proposes actions.
    await call('POST', '/api/watchlist', {
      kind: 'user',
      value: 'adele.vance@contoso.com',
      reason: 'Credentials seen for sale (demo)',
    });
    // Dana starts it, so the console (the API service) may approve: no one approves their own request.
    const started = (await call('POST', `/api/alerts/${alert.id}/investigate`, {}, analystToken)) as {
      investigationId?: string;
    };
    // Wait for the playbook to settle, so the console opens on actions already waiting for approval.
    for (let tries = 0; tries < 50 && started.investigationId !== undefined; tries++) {
      const { status } = (await call('GET', `/api/investigations/${started.investigationId}`)) as {
        status: string;
      };
      if (status !== 'queued' && status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    lines.push('  investigation  started; its actions wait for approval (Pending actions page)');
  } catch (error) {
    lines.push(`  investigation  skipped: ${(error as Error).message}`);
  }
  try {
    const created = await call('POST', '/api/remediations', {
      recommendation: 'Patch CVE-2026-21001 (Print Spooler) on finance workstations',
      devices: ['FIN-WS-17', 'FIN-WS-18', 'FIN-WS-21'],
      dueAt: new Date(Date.now() + 14 * 86_400_000).toISOString(),
      priority: 'high',
    });
    const id = (created.remediation as { id: string }).id;
    await call('POST', `/api/remediations/${id}/exception`, {
      reason: 'compensating_control',
      justification: 'Print Spooler disabled by GPO until the patch window',
      expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    });
    lines.push('  remediation    filed, with an exception (Remediation page, Exceptions tab)');
  } catch (error) {
    lines.push(`  remediation    skipped: ${(error as Error).message}`);
  }
  return lines;
}

/**
 * `vigil demo`: Vigil on a fresh machine with no chat account. Embedded Postgres unless
 * DATABASE_URL is set, a private redis-server unless REDIS_URL is set or one answers locally,
 * sample alerts from every format, and a summary of what to try. Runs until Ctrl-C.
 */
export async function runDemo(env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const dataDir = path.resolve(env.VIGIL_DATA_DIR ?? './.vigil');
  await mkdir(dataDir, { recursive: true });
  const tokens = await demoTokens(dataDir);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };

  try {
    let redisUrl = env.REDIS_URL;
    if (redisUrl === undefined || redisUrl === '') {
      if (await redisAnswers(DEFAULT_REDIS)) {
        redisUrl = DEFAULT_REDIS;
      } else {
        const redis = await startPrivateRedis(dataDir);
        if (redis === null) {
          console.error(REDIS_HELP);
          return 1;
        }
        stops.push(redis.stop);
        redisUrl = redis.url;
      }
    }

    const config = loadConfig({
      VIGIL_INGEST_TOKEN: tokens.ingest,
      VIGIL_API_TOKEN: tokens.api,
      ...env,
      REDIS_URL: redisUrl,
      // Demos on one Redis must not take each other's jobs.
      VIGIL_QUEUE_PREFIX: env.VIGIL_QUEUE_PREFIX ?? `vigil-demo-${randomBytes(3).toString('hex')}`,
      LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
      VIGIL_DATA_DIR: dataDir,
    });
    const logger = createLogger(config.LOG_LEVEL);

    let databaseUrl = config.DATABASE_URL;
    if (databaseUrl === undefined) {
      console.log(`Starting an embedded Postgres under ${path.join(dataDir, 'postgres')} ...`);
      const postgres = await startEmbeddedPostgres(dataDir);
      stops.push(postgres.stop);
      databaseUrl = postgres.url;
    }

    const vigil = await startVigil({ config, databaseUrl, logger, roles: { web: true, worker: true } });
    stops.push(vigil.stop);
    const base = vigil.url ?? `http://${config.HOST}:${config.PORT}`;
    const ingestToken = config.VIGIL_INGEST_TOKEN ?? tokens.ingest;
    const apiToken = config.VIGIL_API_TOKEN ?? tokens.api;

    const sent: string[] = [];
    for (const sample of sampleAlerts(new Date())) {
      const response = await fetch(`${base}/ingest/${sample.format}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ingestToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(sample.body),
      });
      sent.push(
        `  ${sample.format.padEnd(13)} ${response.status === 202 ? 'stored' : `refused (${response.status}: ${await response.text()})`}`,
      );
    }

    const analystToken = await demoAnalystToken(vigil.handle);
    const work = await demoWorkItems(base, apiToken, analystToken);

    // The token rides in the URL fragment, which browsers never send to a server; the page moves it
    // to sessionStorage and strips it from the address bar.
    const consoleLink = `${base}/console/#token=${encodeURIComponent(apiToken)}`;
    console.log(`
Open the web console (signs you in as the API service):
  ${consoleLink}
Or as Dana, a second person (an approver), to try the two-person rule:
  ${base}/console/#token=${encodeURIComponent(analystToken)}

Vigil demo is running at ${base}
Sample alerts sent, one per ingest format:
${sent.join('\n')}
Work for the console:
${work.join('\n')}

Try:
  List alerts:       curl -s -H 'Authorization: Bearer ${apiToken}' ${base}/api/alerts
  One alert:         curl -s -H 'Authorization: Bearer ${apiToken}' ${base}/api/alerts/1
  Mark in progress:  curl -s -X POST -H 'Authorization: Bearer ${apiToken}' -H 'Content-Type: application/json' \\
                       -d '{"status":"in_progress"}' ${base}/api/alerts/1/status
  Send an alert:     curl -s -X POST -H 'Authorization: Bearer ${ingestToken}' -H 'Content-Type: application/json' \\
                       -d '{"title":"Test alert from curl","severity":"high"}' ${base}/ingest/generic
  Health:            ${base}/healthz   ${base}/readyz   ${base}/metrics

No chat platform is configured: the console shows each alert's card as Teams and Slack would draw it.
Data lives in ${dataDir}. Press Ctrl-C to stop.`);

    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    console.log('Stopping the demo ...');
    await stopAll();
    return 0;
  } catch (error) {
    await stopAll();
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
}
