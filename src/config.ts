import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { entityKey, parseUserKey, ROLES } from './domain/index.js';
import {
  type ClientCertificate,
  holdsEncryptedKey,
  readClientCertificate,
} from './integrations/microsoft/client-assertion.js';
import { defaultWebProcesses, postgresOnThisHost } from './web-cluster.js';

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const secret = (minLength: number) =>
  optionalString.refine((value) => value === undefined || value.length >= minLength, {
    message: `must be at least ${minLength} characters`,
  });

const urlWithProtocols = (protocols: readonly string[]) =>
  optionalString.refine(
    (value) => {
      if (value === undefined) return true;
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

/** A PEM file's path and text; its key and certificate are read once the passphrase is known (see loadConfig). */
const pemFile = optionalString.transform((file, ctx): { file: string; pem: string } | undefined => {
  if (file === undefined) return undefined;
  try {
    return { file, pem: readFileSync(file, 'utf8') };
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      message: `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
    });
    return z.NEVER;
  }
});

/** A passphrase as given: spaces at either end are part of it (unlike other values, not trimmed); empty is unset. */
const passphrase = z
  .string()
  .optional()
  .transform((value) => (value === '' ? undefined : value));

const flag = optionalString.transform((value) => value === '1' || value === 'true' || value === 'yes');

const intInRange = <F extends number | undefined>(fallback: F, min: number, max: number) =>
  optionalString.transform((value, ctx): number | F => {
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max}` });
      return z.NEVER;
    }
    return parsed;
  });

const numberInRange = (fallback: number, min: number, max: number) =>
  optionalString.transform((value, ctx) => {
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
      ctx.addIssue({ code: 'custom', message: `must be a number from ${min} to ${max}` });
      return z.NEVER;
    }
    return parsed;
  });

/**
 * Secrets and limits that keep holders of one credential from doing another's work (see
 * `hardeningProblems` for how they combine with the rest).
 */
const hardening = {
  /** Jira's inbound webhook secret (`X-Hub-Signature` key, or bearer token); the endpoint is off without it. */
  VIGIL_JIRA_WEBHOOK_SECRET: secret(16),
  /** Bearer token ServiceNow's outbound REST message carries; the endpoint is off without it. */
  VIGIL_SERVICENOW_WEBHOOK_SECRET: secret(16),
  /** Bearer token `/metrics` requires; unset leaves it open. */
  VIGIL_METRICS_TOKEN: secret(16),
  /** Tenant IDs whose Teams activities are served (comma-separated), or `*` for every tenant. */
  VIGIL_TEAMS_TENANTS: optionalString.transform((value, ctx): readonly string[] | '*' | undefined => {
    if (value === undefined || value === '*') return value;
    const tenants = value
      .split(',')
      .map((tenant) => tenant.trim().toLowerCase())
      .filter(Boolean);
    if (tenants.includes('*') || tenants.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'must be tenant IDs separated by commas, or * alone' });
    }
    return tenants;
  }),
  /** Calls one http enrichment step may make per investigation round; further entities are skipped. @defaultValue 50 */
  VIGIL_ENRICHMENT_MAX_CALLS: intInRange(50, 1, 10_000),
};

/**
 * Vigil's environment, parsed once at start-up. Every problem is reported at once, by variable
 * name; values are never echoed, since many of them are secrets.
 */
const environment = z.object({
  /** HTTP listener port. @defaultValue 3000 */
  PORT: intInRange(3000, 0, 65535),
  /** HTTP listener address. @defaultValue 127.0.0.1 */
  HOST: optionalString.transform((value) => value ?? '127.0.0.1'),
  /** Postgres; unset means an embedded Postgres under VIGIL_DATA_DIR. */
  DATABASE_URL: urlWithProtocols(['postgres:', 'postgresql:']),
  /** Postgres schema for Vigil's tables. @defaultValue vigil */
  VIGIL_DB_SCHEMA: optionalString
    .transform((value) => value ?? 'vigil')
    .refine((value) => /^[a-z_][a-z0-9_]{0,62}$/.test(value), {
      message: 'must be a lower-case identifier (letters, digits, _)',
    }),
  /** Connections per process (`vigil web`: for all its processes together). @defaultValue 10 */
  VIGIL_DB_POOL_SIZE: intInRange(10, 1, 200),
  /** Processes of `vigil web`, on one port. @defaultValue see `defaultWebProcesses` */
  VIGIL_WEB_PROCESSES: intInRange(undefined, 1, 64),
  /** How Vigil's connections show in pg_stat_activity (tell processes or installs apart). @defaultValue vigil */
  VIGIL_DB_APPLICATION_NAME: optionalString
    .transform((value) => value ?? 'vigil')
    .refine((value) => /^[A-Za-z0-9_.:-]{1,63}$/.test(value), {
      message: 'must be 1 to 63 letters, digits, _ . : or -',
    }),
  /** Days completed outbox rows are kept before the worker deletes them. @defaultValue 7 */
  VIGIL_OUTBOX_RETENTION_DAYS: intInRange(7, 1, 3650),
  /** How long a query waits for a free pooled connection before it fails (and its job retries). @defaultValue 10000 */
  VIGIL_DB_ACQUIRE_TIMEOUT_MS: intInRange(10_000, 100, 600_000),
  /** How long chat cards and tickets are retried (capped backoff) before they are marked failed. @defaultValue 24 */
  VIGIL_DELIVERY_RETRY_HOURS: numberInRange(24, 0.01, 720),
  /** How long a worker holds a card it posts or updates before another may take it over. @defaultValue 30000 */
  VIGIL_CARD_LEASE_MS: intInRange(30_000, 1_000, 3_600_000),
  /** Where `demo` and an embedded Postgres keep their files. @defaultValue ./.vigil */
  VIGIL_DATA_DIR: optionalString.transform((value) => value ?? './.vigil'),
  /** Redis for BullMQ. @defaultValue redis://127.0.0.1:6379 */
  REDIS_URL: urlWithProtocols(['redis:', 'rediss:']).transform((value) => value ?? 'redis://127.0.0.1:6379'),
  /** Separates installs that share one Redis. @defaultValue vigil */
  VIGIL_QUEUE_PREFIX: optionalString
    .transform((value) => value ?? 'vigil')
    .refine((value) => /^[A-Za-z0-9_.-]{1,64}$/.test(value), {
      message: 'must be letters, digits, _ . or -',
    }),
  /** Bearer token that /ingest/* requires. */
  VIGIL_INGEST_TOKEN: secret(16),
  /** Bearer token for /api/*. */
  VIGIL_API_TOKEN: secret(16),
  /** First admins: `slack:U0123,teams:<AAD object ID>`. */
  VIGIL_ADMINS: optionalString.transform((value, ctx) => {
    const keys = (value ?? '')
      .split(',')
      .map((key) => key.trim())
      .filter(Boolean);
    for (const key of keys) {
      const parsed = parseUserKey(key);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error.message });
    }
    return keys;
  }),
  /** Role of chat users Vigil does not know. @defaultValue viewer */
  VIGIL_DEFAULT_ROLE: optionalString.pipe(
    z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` }).default('viewer'),
  ),
  /** Alerts per second one source may send to one process before it gets 429. @defaultValue 5000 */
  VIGIL_INGEST_RATE_LIMIT: intInRange(5000, 1, 1_000_000),
  /** Base URL people reach Vigil at, for links on cards. @defaultValue http://HOST:PORT */
  VIGIL_PUBLIC_URL: urlWithProtocols(['http:', 'https:']),
  /** pino level. @defaultValue info */
  LOG_LEVEL: optionalString.pipe(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  SLACK_BOT_TOKEN: optionalString.refine((value) => value === undefined || /^xox[bp]-/.test(value), {
    message: 'must be a bot token starting with xoxb-',
  }),
  SLACK_SIGNING_SECRET: secret(8),
  SLACK_APP_TOKEN: optionalString.refine((value) => value === undefined || value.startsWith('xapp-'), {
    message: 'must be an app-level token starting with xapp-',
  }),
  SLACK_API_URL: urlWithProtocols(['http:', 'https:']),
  SLACK_ALERT_CHANNEL: optionalString,
  MICROSOFT_APP_ID: optionalString,
  MICROSOFT_APP_PASSWORD: optionalString,
  MICROSOFT_APP_TYPE: optionalString.pipe(
    z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']).optional(),
  ),
  MICROSOFT_APP_TENANT_ID: optionalString,
  VIGIL_TEAMS_DEV: flag,
  /** Set by `vigil demo`: actions no executor is configured for are simulated and marked done. */
  VIGIL_DEMO_EXECUTOR: flag,
  /** Set by `vigil demo` when its Microsoft credentials are its simulated Defender's: actions stay simulated. */
  VIGIL_DEMO_DEFENDER: flag,
  /** Receiver of signed remediation-action webhooks (every action kind no other executor does). */
  VIGIL_EXECUTOR_WEBHOOK_URL: urlWithProtocols(['http:', 'https:']),
  /** HMAC-SHA256 key for the action webhook's X-Vigil-Signature. */
  VIGIL_EXECUTOR_WEBHOOK_SECRET: secret(16),
  /** Entra ID tenant (directory) ID of the app registration Vigil signs in as (client credentials). */
  VIGIL_GRAPH_TENANT_ID: optionalString,
  /** Application (client) ID of that app registration. */
  VIGIL_GRAPH_CLIENT_ID: optionalString,
  /** A client secret of that app registration: gives Graph and Defender tokens, refreshed before they expire. */
  VIGIL_GRAPH_CLIENT_SECRET: secret(8),
  /** Or, instead of the secret, a PEM file with the private key and certificate of that app registration (a signed client assertion). */
  VIGIL_GRAPH_CLIENT_CERTIFICATE: pemFile,
  /** Passphrase of VIGIL_GRAPH_CLIENT_CERTIFICATE's private key, if it is encrypted; used at start-up, not kept in the parsed configuration. */
  VIGIL_GRAPH_CLIENT_CERTIFICATE_PASSPHRASE: passphrase,
  /** Token endpoint base: `{authority}/{tenant}/oauth2/v2.0/token`. @defaultValue https://login.microsoftonline.com */
  VIGIL_GRAPH_AUTHORITY_URL: urlWithProtocols(['http:', 'https:']),
  /** Seconds between pulls of Graph security alerts (0: no pull); needs app credentials or VIGIL_GRAPH_TOKEN. @defaultValue 60 */
  VIGIL_GRAPH_POLL_SECONDS: intInRange(60, 0, 86_400),
  /** Microsoft Graph base URL for identity actions. @defaultValue https://graph.microsoft.com/v1.0 */
  VIGIL_GRAPH_API_URL: urlWithProtocols(['http:', 'https:']),
  /** Bearer token for Graph: turns on revoke sessions, disable user and revoke OAuth consent through Graph. */
  VIGIL_GRAPH_TOKEN: secret(8),
  /** Defender-style API base URL for device, file and indicator actions. @defaultValue https://api.securitycenter.microsoft.com */
  VIGIL_DEFENDER_API_URL: urlWithProtocols(['http:', 'https:']),
  /** Bearer token for the Defender-style API: turns on isolate, quarantine and block through it. */
  VIGIL_DEFENDER_TOKEN: secret(8),
  /** Time limit of one call to an action executor. @defaultValue 10000 */
  VIGIL_EXECUTOR_TIMEOUT_MS: intInRange(10_000, 100, 120_000),
  /** How long a worker holds an action's execution before another may take it over (must exceed a call with its retries). @defaultValue 60000 */
  VIGIL_ACTION_LEASE_MS: intInRange(60_000, 1_000, 3_600_000),
  /** An action reaching more targets than this needs two approvers. @defaultValue 50 */
  VIGIL_APPROVAL_MAX_TARGETS: intInRange(50, 1, 1_000_000),
  /** Users (UPNs) whose accounts are privileged: actions on them need two approvers. */
  VIGIL_PRIVILEGED_USERS: optionalString.transform((value) =>
    (value ?? '')
      .split(',')
      .map((key) => entityKey('user', key))
      .filter(Boolean),
  ),
  /** Where remediation tickets go. @defaultValue builtin (tracked in Vigil, no external system) */
  VIGIL_TICKETING: optionalString.pipe(
    z
      .enum(['builtin', 'jira', 'servicenow', 'webhook'], {
        message: 'must be builtin, jira, servicenow or webhook',
      })
      .default('builtin'),
  ),
  /** Seconds between status polls of a Jira or ServiceNow ticket. @defaultValue 300 */
  VIGIL_TICKET_POLL_SECONDS: intInRange(300, 1, 86_400),
  /** Jira Cloud site, e.g. https://your-domain.atlassian.net */
  JIRA_BASE_URL: urlWithProtocols(['http:', 'https:']),
  /** Atlassian account email that owns JIRA_API_TOKEN. */
  JIRA_EMAIL: optionalString,
  JIRA_API_TOKEN: secret(8),
  /** Project remediation issues are created in (e.g. SEC). */
  JIRA_PROJECT_KEY: optionalString.refine(
    (value) => value === undefined || /^[A-Z][A-Z0-9_]{0,19}$/.test(value),
    {
      message: 'must be a Jira project key such as SEC',
    },
  ),
  /** ServiceNow instance, e.g. https://example.service-now.com */
  SERVICENOW_INSTANCE_URL: urlWithProtocols(['http:', 'https:']),
  SERVICENOW_USER: optionalString,
  SERVICENOW_PASSWORD: secret(1),
  /** Table remediation records go in. @defaultValue incident */
  SERVICENOW_TABLE: optionalString.pipe(
    z.enum(['incident', 'sc_task'], { message: 'must be incident or sc_task' }).default('incident'),
  ),
  /** Receiver of the signed generic ticket webhook. */
  VIGIL_TICKET_WEBHOOK_URL: urlWithProtocols(['http:', 'https:']),
  /** HMAC-SHA256 key for X-Vigil-Signature; also the bearer token `/ingest/tickets/webhook` requires. */
  VIGIL_TICKET_WEBHOOK_SECRET: secret(16),
  /** OpenID Connect issuer the console signs people in with (its discovery document is read from it). */
  VIGIL_OIDC_ISSUER: urlWithProtocols(['http:', 'https:']),
  /** Client ID of Vigil's registration at the issuer. */
  VIGIL_OIDC_CLIENT_ID: optionalString,
  /** Client secret of that registration. */
  VIGIL_OIDC_CLIENT_SECRET: secret(1),
  /** Name of the ID token (or UserInfo) claim whose values grant Vigil roles, e.g. `roles` or `groups`. */
  VIGIL_OIDC_ROLE_CLAIM: optionalString,
  /** Hours a console session lasts after sign-in. @defaultValue 12 */
  VIGIL_SESSION_HOURS: intInRange(12, 1, 720),
  ...hardening,
});

type Environment = z.output<typeof environment>;

/**
 * The parsed environment, with the certificate credential read (and its passphrase dropped), and
 * the defaults that depend on other variables filled in.
 */
export type Config = Omit<
  Environment,
  'VIGIL_GRAPH_CLIENT_CERTIFICATE' | 'VIGIL_GRAPH_CLIENT_CERTIFICATE_PASSPHRASE' | 'VIGIL_WEB_PROCESSES'
> & {
  /** The certificate credential, read from the PEM file VIGIL_GRAPH_CLIENT_CERTIFICATE names. */
  readonly VIGIL_GRAPH_CLIENT_CERTIFICATE: ClientCertificate | undefined;
  /** As set, or `defaultWebProcesses` for this machine and DATABASE_URL. */
  readonly VIGIL_WEB_PROCESSES: number;
};

export class ConfigError extends Error {
  readonly code = 'config.invalid';
  constructor(readonly problems: readonly string[]) {
    super(
      `Vigil's configuration has ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

/** Parses the environment; throws one ConfigError that lists every problem by variable name. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const result = environment.safeParse(env);
  const problems = result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`);
  if (!result.success) {
    // The certificate is read only once its two variables parse; its problems join the others'.
    const certificateVariables = environment
      .pick({ VIGIL_GRAPH_CLIENT_CERTIFICATE: true, VIGIL_GRAPH_CLIENT_CERTIFICATE_PASSPHRASE: true })
      .safeParse(env);
    const certificate = certificateVariables.success
      ? clientCertificate(certificateVariables.data)
      : undefined;
    if (typeof certificate === 'string') problems.push(certificate);
  }
  if (result.success) {
    const config = result.data;
    if (
      config.SLACK_BOT_TOKEN !== undefined &&
      config.SLACK_SIGNING_SECRET === undefined &&
      config.SLACK_APP_TOKEN === undefined
    ) {
      problems.push(
        'SLACK_SIGNING_SECRET: is required with SLACK_BOT_TOKEN (or set SLACK_APP_TOKEN for Socket Mode)',
      );
    }
    if (
      config.MICROSOFT_APP_ID !== undefined &&
      config.MICROSOFT_APP_PASSWORD === undefined &&
      config.MICROSOFT_APP_TYPE !== 'UserAssignedMSI'
    ) {
      problems.push('MICROSOFT_APP_PASSWORD: is required with MICROSOFT_APP_ID');
    }
    if (config.MICROSOFT_APP_TYPE === 'SingleTenant' && config.MICROSOFT_APP_TENANT_ID === undefined) {
      problems.push('MICROSOFT_APP_TENANT_ID: is required when MICROSOFT_APP_TYPE is SingleTenant');
    }
    problems.push(...ticketingProblems(config));
    problems.push(...hardeningProblems(config));
    problems.push(...appCredentialProblems(config));
    problems.push(...oidcProblems(config));
    const certificate = clientCertificate(config);
    if (typeof certificate === 'string') problems.push(certificate);
    else if (problems.length === 0) {
      const { VIGIL_GRAPH_CLIENT_CERTIFICATE_PASSPHRASE: _passphrase, ...rest } = config;
      return {
        ...rest,
        VIGIL_GRAPH_CLIENT_CERTIFICATE: certificate,
        VIGIL_WEB_PROCESSES:
          config.VIGIL_WEB_PROCESSES ??
          defaultWebProcesses(availableParallelism(), postgresOnThisHost(config.DATABASE_URL)),
      };
    }
  }
  throw new ConfigError(problems);
}

/** The variables the chosen ticketing connector needs, each named when missing. */
function ticketingProblems(config: Environment): string[] {
  const needed: Record<typeof config.VIGIL_TICKETING, (keyof typeof config)[]> = {
    builtin: [],
    jira: ['JIRA_BASE_URL', 'JIRA_EMAIL', 'JIRA_API_TOKEN', 'JIRA_PROJECT_KEY'],
    servicenow: ['SERVICENOW_INSTANCE_URL', 'SERVICENOW_USER', 'SERVICENOW_PASSWORD'],
    webhook: ['VIGIL_TICKET_WEBHOOK_URL', 'VIGIL_TICKET_WEBHOOK_SECRET'],
  };
  return needed[config.VIGIL_TICKETING]
    .filter((name) => config[name] === undefined)
    .map((name) => `${name}: is required when VIGIL_TICKETING is ${config.VIGIL_TICKETING}`);
}

/** The certificate credential, or the problem with it (never quoting the key or the passphrase). */
function clientCertificate(
  config: Pick<Environment, 'VIGIL_GRAPH_CLIENT_CERTIFICATE' | 'VIGIL_GRAPH_CLIENT_CERTIFICATE_PASSPHRASE'>,
): ClientCertificate | undefined | string {
  const given = config.VIGIL_GRAPH_CLIENT_CERTIFICATE;
  const passphrase = config.VIGIL_GRAPH_CLIENT_CERTIFICATE_PASSPHRASE;
  if (given === undefined)
    return passphrase === undefined
      ? undefined
      : 'VIGIL_GRAPH_CLIENT_CERTIFICATE_PASSPHRASE: is set, but VIGIL_GRAPH_CLIENT_CERTIFICATE is not';
  if (passphrase === undefined && holdsEncryptedKey(given.pem))
    return `VIGIL_GRAPH_CLIENT_CERTIFICATE_PASSPHRASE: is required, as ${given.file} holds an encrypted private key`;
  try {
    return readClientCertificate(given.pem, passphrase);
  } catch (error) {
    return `VIGIL_GRAPH_CLIENT_CERTIFICATE: ${given.file} ${(error as Error).message}`;
  }
}

/**
 * Client credentials come as a set: tenant, client and exactly one credential (a secret or a
 * certificate). Naming some but not all is a mistake worth stopping for.
 */
function appCredentialProblems(config: Environment): string[] {
  const secret = config.VIGIL_GRAPH_CLIENT_SECRET !== undefined;
  const certificate = config.VIGIL_GRAPH_CLIENT_CERTIFICATE !== undefined;
  if (secret && certificate)
    return [
      'VIGIL_GRAPH_CLIENT_CERTIFICATE: set either it or VIGIL_GRAPH_CLIENT_SECRET, not both (one credential for the app)',
    ];
  const credential = certificate ? 'VIGIL_GRAPH_CLIENT_CERTIFICATE' : 'VIGIL_GRAPH_CLIENT_SECRET';
  const set = ['VIGIL_GRAPH_TENANT_ID', 'VIGIL_GRAPH_CLIENT_ID', credential] as const;
  const missing = set.filter((name) => config[name] === undefined);
  if (missing.length === 0 || missing.length === set.length) return [];
  const given = set.filter((other) => !missing.includes(other)).join(' and ');
  return missing.map(
    (name) =>
      `${name === credential && !certificate ? 'VIGIL_GRAPH_CLIENT_SECRET or VIGIL_GRAPH_CLIENT_CERTIFICATE: one is' : `${name}: is`} required with ${given} (app credentials: tenant, client and one credential)`,
  );
}

/** Console sign-in needs the issuer and the client's ID and secret together; a role claim needs them. */
function oidcProblems(config: Environment): string[] {
  const set = ['VIGIL_OIDC_ISSUER', 'VIGIL_OIDC_CLIENT_ID', 'VIGIL_OIDC_CLIENT_SECRET'] as const;
  const missing = set.filter((name) => config[name] === undefined);
  const issuer = config.VIGIL_OIDC_ISSUER === undefined ? null : new URL(config.VIGIL_OIDC_ISSUER);
  if (issuer !== null && issuer.protocol === 'http:' && !isLoopbackHost(issuer.hostname))
    return ['VIGIL_OIDC_ISSUER: must use https:// (plain http only for a provider on this machine)'];
  if (missing.length === set.length)
    return config.VIGIL_OIDC_ROLE_CLAIM === undefined
      ? []
      : [`VIGIL_OIDC_ROLE_CLAIM: needs ${set.join(', ')} (console sign-in with OpenID Connect)`];
  return missing.map(
    (name) =>
      `${name}: is required with ${set.filter((other) => !missing.includes(other)).join(' and ')} (OpenID Connect sign-in needs all three)`,
  );
}

/** An address only this machine can reach: 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** Combinations that would open a door: unauthenticated Teams off this machine, any tenant by default, unsigned actions. */
function hardeningProblems(config: Environment): string[] {
  const problems: string[] = [];
  if (config.VIGIL_TEAMS_DEV && !isLoopbackHost(config.HOST)) {
    problems.push(
      'VIGIL_TEAMS_DEV: opens /api/messages without authentication, so HOST must be a loopback address (127.0.0.1, ::1 or localhost)',
    );
  }
  if (config.MICROSOFT_APP_ID !== undefined && config.VIGIL_TEAMS_TENANTS === undefined) {
    problems.push(
      'VIGIL_TEAMS_TENANTS: is required with MICROSOFT_APP_ID: list the tenant IDs whose activities Vigil serves (comma-separated), or * to serve every tenant',
    );
  }
  if (config.VIGIL_EXECUTOR_WEBHOOK_URL !== undefined && config.VIGIL_EXECUTOR_WEBHOOK_SECRET === undefined) {
    problems.push(
      'VIGIL_EXECUTOR_WEBHOOK_SECRET: is required with VIGIL_EXECUTOR_WEBHOOK_URL (every action webhook is signed)',
    );
  }
  return problems;
}

/** What a role needs that is optional in general: `serve` and `web` must protect ingest. */
export function requireForServing(config: Config): void {
  const problems: string[] = [];
  if (config.VIGIL_INGEST_TOKEN === undefined) {
    problems.push(
      'VIGIL_INGEST_TOKEN: is required to serve (every /ingest request must carry it as a bearer token)',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

export const publicUrl = (config: Config): string =>
  (config.VIGIL_PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`).replace(/\/$/, '');

/**
 * This install's own Entra tenant: the bot's (MICROSOFT_APP_TENANT_ID), else the Graph app's,
 * else the one tenant VIGIL_TEAMS_TENANTS serves; lower case, as tenant IDs compare.
 */
export function entraHomeTenant(
  config: Pick<Config, 'MICROSOFT_APP_TENANT_ID' | 'VIGIL_GRAPH_TENANT_ID' | 'VIGIL_TEAMS_TENANTS'>,
): string | null {
  const listed = config.VIGIL_TEAMS_TENANTS;
  const single = Array.isArray(listed) && listed.length === 1 ? listed[0] : undefined;
  const tenant = config.MICROSOFT_APP_TENANT_ID ?? config.VIGIL_GRAPH_TENANT_ID ?? single;
  return tenant === undefined || tenant === '' ? null : tenant.toLowerCase();
}
