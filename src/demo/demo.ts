import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { grantRole, linkIdentity } from '../app/commands/people.js';
import { createToken } from '../app/commands/tokens.js';
import { identify, identifyService } from '../app/identity.js';
import { startVigil } from '../app.js';
import { type Config, ConfigError, loadConfig, publicUrl } from '../config.js';
import { oidcIdentityKey, systemClock } from '../domain/index.js';
import { createLogger } from '../logger.js';
import type { Db, DbHandle } from '../storage/db.js';
import { startEmbeddedPostgres } from '../storage/embedded-postgres.js';
import { demoRedis } from './redis-server.js';
import { sampleAlerts } from './samples.js';
import {
  resetSimulatedDefender,
  type SimulatedDefender,
  startSimulatedDefender,
} from './simulated-defender.js';

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

/** The demo's named people: Dana starts the investigation, Ada and Ben approve (two people, neither of them Dana). */
const DEMO_PEOPLE = [
  { id: 'demo:dana', name: 'Dana', title: 'Dana (demo analyst)', login: 'dana' },
  { id: 'demo:ada', name: 'Ada', title: 'Ada (demo approver)', login: 'ada' },
  { id: 'demo:ben', name: 'Ben', title: 'Ben (demo approver)', login: 'ben' },
] as const;

type DemoName = (typeof DEMO_PEOPLE)[number]['name'];

const DEMO_OIDC_CLIENT = 'vigil-demo-console';

/**
 * The demo's own OpenID Connect provider, unless one is configured: the console signs in through
 * it exactly as through Entra ID or Okta, one click per demo person. It keeps its port from one run
 * to the next, so the people's sign-in identities stay the same.
 */
async function startDemoIdentityProvider(dataDir: string) {
  // Loaded only here: no other role carries the provider.
  const { startIdentityProvider } = await import('./identity-provider.js');
  const portFile = path.join(dataDir, 'demo-identity-provider.json');
  const earlier = await readFile(portFile, 'utf8')
    .then((text) => (JSON.parse(text) as { port?: number }).port)
    .catch(() => undefined);
  const accounts = DEMO_PEOPLE.map((demo) => ({
    login: demo.login,
    name: demo.title,
    email: `${demo.login}@vigil-demo.example`,
  }));
  const options = { clientId: DEMO_OIDC_CLIENT, clientSecret: randomBytes(18).toString('base64url') };
  const start = (port: number) => startIdentityProvider(accounts, { ...options, signIn: 'pick', port });
  const provider = await start(earlier ?? 0).catch(() => start(0));
  await writeFile(portFile, JSON.stringify({ port: Number(new URL(provider.issuer).port) }));
  return { ...provider, ...options };
}

/**
 * The demo's people, each an approver with a fresh personal token (and, with the demo's identity
 * provider, its sign-in identity linked): whoever asked for an action cannot approve it and
 * high-impact actions need two different people, so the console can show both.
 */
async function demoPeopleTokens(handle: DbHandle, issuer: string | null): Promise<Record<DemoName, string>> {
  const deps = { handle, clock: systemClock };
  const service = await identifyService(handle.db);
  if (!service.ok) throw new Error('the demo people could not be set up');
  const tokens: Partial<Record<DemoName, string>> = {};
  for (const demo of DEMO_PEOPLE) {
    const person = await identify(
      handle.db,
      { kind: 'user', platform: 'console', id: demo.id, name: demo.title },
      { admins: [], defaultRole: 'viewer' },
    );
    if (!person.ok) throw new Error('the demo people could not be set up');
    await grantRole(deps, service.value, { personId: person.value.personId, role: 'approver' });
    if (issuer !== null) {
      const key = oidcIdentityKey(issuer, demo.login);
      await linkIdentity(deps, service.value, { personId: person.value.personId, key });
    }
    const created = await createToken(deps, { ...person.value, role: 'approver' }, { name: 'demo' });
    if (!created.ok) throw new Error(created.error.message);
    tokens[demo.name] = created.value.token;
  }
  return tokens as Record<DemoName, string>;
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
    lines.push('  investigation  started; its actions wait for approval (Actions page)');
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
 * Alerts already in the demo's database: a second run reuses them and sends nothing again. Graph
 * alerts do not count: the pull may have brought some in already, on a first run too.
 */
async function storedAlerts(db: Db): Promise<number> {
  const row = await db
    .selectFrom('alerts')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('source', '<>', 'graph')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** `--reset` on DATABASE_URL: the demo's schema goes, and the next migration makes it afresh. */
async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}

/** The chat platforms this configuration turns on, as the summary names them. */
function chatPlatforms(config: Config): string[] {
  const platforms: string[] = [];
  if (config.SLACK_BOT_TOKEN !== undefined) platforms.push('Slack');
  if (config.MICROSOFT_APP_ID !== undefined || config.VIGIL_TEAMS_DEV) platforms.push('Microsoft Teams');
  return platforms;
}

/**
 * Sends one sample alert per ingest format; says, per format, whether it was stored. With the
 * simulated Defender, Graph alerts come by the pull instead: pushing one too would count it twice.
 */
async function sendSamples(
  base: string,
  ingestToken: string,
  defender: SimulatedDefender | null,
): Promise<string[]> {
  const sent: string[] = [];
  if (defender !== null)
    sent.push(
      `  ${'graph'.padEnd(13)} pulled from the simulated Defender (${defender.alertCount} alerts of one incident)`,
    );
  for (const sample of sampleAlerts(new Date())) {
    if (defender !== null && sample.format === 'graph') continue;
    const response = await fetch(`${base}/ingest/${sample.format}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ingestToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(sample.body),
    });
    sent.push(
      `  ${sample.format.padEnd(13)} ${response.status === 202 ? 'stored' : `refused (${response.status}: ${await response.text()})`}`,
    );
  }
  return sent;
}

const USAGE = 'Usage: vigil demo [--reset]   (--reset deletes the demo data of an earlier run first)';

/**
 * `vigil demo`: Vigil on a fresh machine with no chat account. Embedded Postgres unless
 * DATABASE_URL is set, a private redis-server unless REDIS_URL is set (the local Redis only when
 * there is no redis-server), sample alerts from every format on the first run (a later run
 * reuses the data; `--reset` starts afresh), the demo executor for actions no real executor is
 * configured for, and a summary of what to try. Runs until Ctrl-C.
 */
export async function runDemo(
  env: Readonly<Record<string, string | undefined>>,
  args: readonly string[] = [],
): Promise<number> {
  const unknown = args.find((arg) => arg !== '--reset');
  if (unknown !== undefined) {
    console.error(`Unknown option "${unknown}".\n${USAGE}`);
    return 2;
  }
  const reset = args.includes('--reset');
  const dataDir = path.resolve(env.VIGIL_DATA_DIR ?? './.vigil');
  await mkdir(dataDir, { recursive: true });
  const tokens = await demoTokens(dataDir);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };

  try {
    const ownPrefix = env.VIGIL_QUEUE_PREFIX === undefined || env.VIGIL_QUEUE_PREFIX === '';
    // Demos on one Redis must not take each other's jobs.
    const prefix = ownPrefix
      ? `vigil-demo-${randomBytes(3).toString('hex')}`
      : (env.VIGIL_QUEUE_PREFIX as string);
    const redis = await demoRedis(env, dataDir, { value: prefix, ownedByDemo: ownPrefix });
    if (redis === null) return 1;
    stops.push(redis.stop);
    const identityProvider =
      env.VIGIL_OIDC_ISSUER === undefined || env.VIGIL_OIDC_ISSUER === ''
        ? await startDemoIdentityProvider(dataDir)
        : null;
    if (identityProvider !== null) stops.push(identityProvider.close);

    // Without Microsoft credentials of its own, the demo brings a simulated Defender to pull from and write back to.
    const realMicrosoft = env.VIGIL_GRAPH_TENANT_ID !== undefined || env.VIGIL_GRAPH_TOKEN !== undefined;
    if (reset && !realMicrosoft) await resetSimulatedDefender(dataDir);
    const defender = realMicrosoft ? null : await startSimulatedDefender(dataDir);
    if (defender !== null) stops.push(defender.stop);

    const config = loadConfig({
      VIGIL_INGEST_TOKEN: tokens.ingest,
      VIGIL_API_TOKEN: tokens.api,
      ...(identityProvider === null
        ? {}
        : {
            VIGIL_OIDC_ISSUER: identityProvider.issuer,
            VIGIL_OIDC_CLIENT_ID: identityProvider.clientId,
            VIGIL_OIDC_CLIENT_SECRET: identityProvider.clientSecret,
          }),
      ...env,
      REDIS_URL: redis.url,
      VIGIL_QUEUE_PREFIX: prefix,
      LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
      VIGIL_DATA_DIR: dataDir,
      VIGIL_DEMO_EXECUTOR: '1',
      ...defender?.env,
    });
    const logger = createLogger(config.LOG_LEVEL);

    let databaseUrl = config.DATABASE_URL;
    let where: string;
    if (databaseUrl === undefined) {
      where = path.join(dataDir, 'postgres');
      if (reset) {
        await rm(where, { recursive: true, force: true });
        console.log(`--reset: removed the demo's Postgres data under ${where}.`);
      }
      console.log(`Starting an embedded Postgres under ${where} ...`);
      const postgres = await startEmbeddedPostgres(dataDir);
      stops.push(postgres.stop);
      databaseUrl = postgres.url;
    } else {
      where = `schema "${config.VIGIL_DB_SCHEMA}" of the database at DATABASE_URL`;
      if (reset) {
        await dropSchema(databaseUrl, config.VIGIL_DB_SCHEMA);
        console.log(`--reset: dropped the ${where}.`);
      }
    }

    const vigil = await startVigil({ config, databaseUrl, logger, roles: { web: true, worker: true } });
    stops.push(vigil.stop);
    const base = vigil.url ?? `http://${config.HOST}:${config.PORT}`;
    const ingestToken = config.VIGIL_INGEST_TOKEN ?? tokens.ingest;
    const apiToken = config.VIGIL_API_TOKEN ?? tokens.api;

    await identityProvider?.register(`${publicUrl(config)}/auth/callback`);
    const people = await demoPeopleTokens(vigil.handle, identityProvider?.issuer ?? null);
    const earlier = await storedAlerts(vigil.handle.db);
    const seeded =
      earlier > 0
        ? `Reusing the data in ${where}: ${earlier} alert(s) from an earlier run.
No sample was sent again (vigil demo --reset starts afresh).`
        : `Sample alerts sent, one per ingest format:
${(await sendSamples(base, ingestToken, defender)).join('\n')}
Work for the console:
${(await demoWorkItems(base, apiToken, people.Dana)).join('\n')}`;

    const microsoft =
      defender === null
        ? 'Microsoft Defender: the tenant of your VIGIL_GRAPH_* settings.'
        : `Microsoft Defender: SIMULATED (a local fake of Microsoft Graph and Entra ID; no Microsoft service is called).
  Graph ${defender.graphUrl}   token endpoint ${defender.tokenUrl}
  Vigil pulls its alerts every 5 s; resolve one in the console and its "In Defender" panel shows the
  simulated Defender resolved by you, with your comment on its alert.`;
    const chats = chatPlatforms(config);
    const chat =
      chats.length === 0
        ? "No chat platform is configured: the console shows each alert's card as Teams and Slack would draw it."
        : `Chat: ${chats.join(' and ')} (cards go where your routes and policies send them).`;

    // A token rides in the URL fragment, which browsers never send to a server; the page moves it
    // to sessionStorage and strips it from the address bar.
    const tokenLink = (token: string, user?: string) =>
      `${base}/console/#token=${encodeURIComponent(token)}${user === undefined ? '' : `&user=${encodeURIComponent(user)}`}`;
    const signIn = (name: DemoName) => {
      const demo = DEMO_PEOPLE.find((candidate) => candidate.name === name);
      return identityProvider === null || demo === undefined
        ? tokenLink(people[name], name)
        : `${base}/auth/login?login_hint=${demo.login}`;
    };
    const how =
      identityProvider === null
        ? 'with a personal token'
        : `through the demo's own OpenID Connect provider at ${identityProvider.issuer}`;
    console.log(`
Sign in to the web console with one click, ${how},
as one of two demo approvers (a high-impact action needs both; Dana, who started the investigation,
may approve none of its actions):
  Ada:  ${signIn('Ada')}
  Ben:  ${signIn('Ben')}
  Dana: ${signIn('Dana')}
Or as the API service (an admin):
  ${tokenLink(apiToken)}

Vigil demo is running at ${base}
${seeded}

Redis: ${redis.description}.
${microsoft}
Actions: approved ones run through the demo executor (labelled "demo", simulated: it changes nothing
  anywhere) unless VIGIL_EXECUTOR_WEBHOOK_URL, VIGIL_GRAPH_TOKEN or VIGIL_DEFENDER_TOKEN is set.

Try:
  List alerts:       curl -s -H 'Authorization: Bearer ${apiToken}' ${base}/api/alerts
  One alert:         curl -s -H 'Authorization: Bearer ${apiToken}' ${base}/api/alerts/1
  Investigations:    curl -s -H 'Authorization: Bearer ${apiToken}' ${base}/api/investigations
  Mark in progress:  curl -s -X POST -H 'Authorization: Bearer ${apiToken}' -H 'Content-Type: application/json' \\
                       -d '{"status":"in_progress"}' ${base}/api/alerts/1/status
  Send an alert:     curl -s -X POST -H 'Authorization: Bearer ${ingestToken}' -H 'Content-Type: application/json' \\
                       -d '{"title":"Test alert from curl","severity":"high"}' ${base}/ingest/generic
  Health:            ${base}/healthz   ${base}/readyz   ${base}/metrics

${chat}
Data lives in ${where}. Press Ctrl-C to stop.`);

    // The handler stays while the demo stops: a second Ctrl-C forces the exit, and nothing else
    // (a loader's default handler) exits half-way through stopping.
    let stopping = false;
    const onSignal = (resolve: () => void) => () => {
      if (stopping) {
        console.log('Stopping at once.');
        process.exit(130);
      }
      stopping = true;
      resolve();
    };
    let handler: () => void = () => {};
    await new Promise<void>((resolve) => {
      handler = onSignal(resolve);
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
    });
    console.log('Stopping the demo ...');
    // From here on, connections closing as Postgres and Redis stop are expected, not news.
    logger.level = 'silent';
    await stopAll();
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
    console.log('Stopped.');
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
