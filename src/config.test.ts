import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { defaultWebProcesses } from './web-cluster.js';

const problemsOf = (env: Record<string, string>): readonly string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
};

describe('configuration hardening', () => {
  it('allows Teams dev mode on loopback hosts only', () => {
    for (const HOST of ['127.0.0.1', '127.0.0.2', 'localhost', '::1'])
      expect(problemsOf({ HOST, VIGIL_TEAMS_DEV: '1' })).toEqual([]);
    for (const HOST of ['0.0.0.0', '::', '192.168.1.4', 'vigil.example.com'])
      expect(problemsOf({ HOST, VIGIL_TEAMS_DEV: '1' })).toEqual([
        expect.stringMatching(/^VIGIL_TEAMS_DEV: .*HOST must be a loopback address/),
      ]);
  });

  it('wants a tenant list, or * on purpose, with a Teams app ID', () => {
    const app = { MICROSOFT_APP_ID: 'app-id', MICROSOFT_APP_PASSWORD: 'password' };
    expect(problemsOf(app)).toEqual([
      expect.stringMatching(/^VIGIL_TEAMS_TENANTS: is required with MICROSOFT_APP_ID/),
    ]);
    expect(loadConfig({ ...app, VIGIL_TEAMS_TENANTS: '*' }).VIGIL_TEAMS_TENANTS).toBe('*');
    expect(loadConfig({ ...app, VIGIL_TEAMS_TENANTS: ' AAA-1, bbb-2 ' }).VIGIL_TEAMS_TENANTS).toEqual([
      'aaa-1',
      'bbb-2',
    ]);
    expect(problemsOf({ ...app, VIGIL_TEAMS_TENANTS: 'aaa-1,*' })).toEqual([
      'VIGIL_TEAMS_TENANTS: must be tenant IDs separated by commas, or * alone',
    ]);
  });

  it('wants the action webhook signed and webhook secrets long enough', () => {
    expect(problemsOf({ VIGIL_EXECUTOR_WEBHOOK_URL: 'https://soar.example.com/hook' })).toEqual([
      'VIGIL_EXECUTOR_WEBHOOK_SECRET: is required with VIGIL_EXECUTOR_WEBHOOK_URL (every action webhook is signed)',
    ]);
    expect(
      problemsOf({
        VIGIL_JIRA_WEBHOOK_SECRET: 'short',
        VIGIL_SERVICENOW_WEBHOOK_SECRET: 'short',
        VIGIL_METRICS_TOKEN: 'x',
      }),
    ).toEqual([
      'VIGIL_JIRA_WEBHOOK_SECRET: must be at least 16 characters',
      'VIGIL_SERVICENOW_WEBHOOK_SECRET: must be at least 16 characters',
      'VIGIL_METRICS_TOKEN: must be at least 16 characters',
    ]);
    expect(loadConfig({}).VIGIL_ENRICHMENT_MAX_CALLS).toBe(50);
  });
});

describe('OpenID Connect sign-in', () => {
  const oidc = {
    VIGIL_OIDC_ISSUER: 'https://idp.example.com',
    VIGIL_OIDC_CLIENT_ID: 'vigil',
    VIGIL_OIDC_CLIENT_SECRET: 'client-secret',
  };

  it('takes the issuer, client ID and secret together, naming each one missing', () => {
    expect(problemsOf(oidc)).toEqual([]);
    expect(problemsOf({ VIGIL_OIDC_ISSUER: oidc.VIGIL_OIDC_ISSUER })).toEqual([
      expect.stringMatching(/^VIGIL_OIDC_CLIENT_ID: is required with VIGIL_OIDC_ISSUER/),
      expect.stringMatching(/^VIGIL_OIDC_CLIENT_SECRET: is required with VIGIL_OIDC_ISSUER/),
    ]);
    expect(problemsOf({ VIGIL_OIDC_ROLE_CLAIM: 'roles' })).toEqual([
      expect.stringMatching(/^VIGIL_OIDC_ROLE_CLAIM: needs VIGIL_OIDC_ISSUER/),
    ]);
    expect(problemsOf({ ...oidc, VIGIL_OIDC_ISSUER: 'http://idp.example.com' })).toEqual([
      expect.stringMatching(/^VIGIL_OIDC_ISSUER: must use https:\/\//),
    ]);
    expect(problemsOf({ ...oidc, VIGIL_OIDC_ISSUER: 'http://127.0.0.1:4000' })).toEqual([]);
    expect(
      loadConfig({ ...oidc, VIGIL_ADMINS: 'oidc:https://idp.example.com:00u1abc' }).VIGIL_ADMINS,
    ).toEqual(['oidc:https://idp.example.com:00u1abc']);
    expect(problemsOf({ ...oidc, VIGIL_OIDC_ISSUER: 'ftp://idp' })).toEqual([
      expect.stringMatching(/^VIGIL_OIDC_ISSUER: must be a URL/),
    ]);
  });
});

describe('VIGIL_WEB_PROCESSES', () => {
  it('defaults to the machine: half its cores beside a local Postgres, every core otherwise', () => {
    const cores = availableParallelism();
    expect(loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/vigil' }).VIGIL_WEB_PROCESSES).toBe(
      defaultWebProcesses(cores, true),
    );
    expect(loadConfig({}).VIGIL_WEB_PROCESSES).toBe(defaultWebProcesses(cores, true));
    expect(loadConfig({ DATABASE_URL: 'postgres://vigil@db.internal/vigil' }).VIGIL_WEB_PROCESSES).toBe(
      cores,
    );
  });

  it('takes the number given, within 1 to 64', () => {
    expect(loadConfig({ VIGIL_WEB_PROCESSES: '3' }).VIGIL_WEB_PROCESSES).toBe(3);
    expect(problemsOf({ VIGIL_WEB_PROCESSES: '0' })).toEqual([
      'VIGIL_WEB_PROCESSES: must be a whole number from 1 to 64',
    ]);
  });
});
