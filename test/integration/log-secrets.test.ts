import { Writable } from 'node:stream';
import { WebClient } from '@slack/web-api';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createSlackIntegration, webClientOptions } from '../../src/bot/slack/index.js';
import { loadConfig } from '../../src/config.js';
import { systemClock } from '../../src/domain/index.js';
import { graphExecutor } from '../../src/integrations/executors/graph.js';
import { webhookExecutor } from '../../src/integrations/executors/webhook.js';
import { staticBearer } from '../../src/integrations/http-retry.js';
import { jiraTickets } from '../../src/integrations/ticketing/jira.js';
import { serviceNowTickets } from '../../src/integrations/ticketing/servicenow.js';
import { createLogger } from '../../src/logger.js';
import type { DbHandle } from '../../src/storage/db.js';
import { freePort } from '../../src/storage/embedded-postgres.js';
import { eventually, TEST_REDIS_URL } from '../helpers/harness.js';

// Every client is pointed at a port nothing listens on, fails on the network, and its error is
// logged the way Vigil's workers log it; the captured lines must not hold any secret.
const SLACK_TOKEN = 'xoxb-1111-2222-slacksecretvalue';
const APP_TOKEN = 'xapp-1-A111-222-appsecretvalue';
const GRAPH_TOKEN = 'graph-secret-token-value';
const JIRA_TOKEN = 'jira-api-token-secret';
const SERVICENOW_PASSWORD = 'servicenow-password-secret';
const EXECUTOR_SECRET = 'executor-webhook-secret-value';
const basic = (user: string, secret: string) => Buffer.from(`${user}:${secret}`).toString('base64');

/** A logger whose lines land in a string. */
function captured(make: (stream: Writable) => pino.Logger = (stream) => createLogger('debug', stream)) {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { logger: make(stream), text: () => text };
}

const closedUrl = async () => `http://127.0.0.1:${await freePort()}`;
const quietSlackLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => 'info' as never,
  setName: () => {},
};

async function failedSlackCall(client: WebClient): Promise<unknown> {
  try {
    await client.chat.postMessage({ channel: 'C1', text: 'hello' });
  } catch (error) {
    return error;
  }
  throw new Error('the Slack call should have failed');
}

describe('no secret in any log', () => {
  it('reproduces the leak: a Slack client with default options, logged by a bare pino, prints the bot token', async () => {
    const client = new WebClient(SLACK_TOKEN, {
      slackApiUrl: `${await closedUrl()}/`,
      retryConfig: { retries: 0 },
      logger: quietSlackLogger,
    });
    const error = await failedSlackCall(client);
    const bare = captured((stream) => pino({}, stream));
    bare.logger.error({ err: error }, 'slack call failed');
    expect(bare.text()).toContain(SLACK_TOKEN);

    // Vigil's logger scrubs it even from an error that carries the original request.
    const vigil = captured();
    vigil.logger.error({ err: error }, 'slack call failed');
    vigil.logger.warn({ job: { error } }, 'nested deeper');
    expect(vigil.text()).toContain('A request error occurred');
    expect(vigil.text()).not.toContain(SLACK_TOKEN);
    expect(vigil.text()).not.toContain('slacksecretvalue');
  });

  it("Vigil's Slack client does not attach the request to its errors", async () => {
    const client = new WebClient(SLACK_TOKEN, webClientOptions(await closedUrl(), quietSlackLogger));
    const error = await failedSlackCall(client);
    expect((error as { original?: unknown }).original).toBeUndefined();
    const log = captured();
    log.logger.error({ err: error }, 'slack call failed');
    expect(log.text()).toContain('slack_webapi_request_error');
    expect(log.text()).not.toContain(SLACK_TOKEN);
  });

  it('Socket Mode: a failed connection logs neither the app token nor the bot token', async () => {
    const log = captured();
    const config = loadConfig({
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_APP_TOKEN: APP_TOKEN,
      SLACK_API_URL: await closedUrl(),
      REDIS_URL: TEST_REDIS_URL,
    });
    const slack = createSlackIntegration({
      config,
      handle: {} as DbHandle,
      logger: log.logger,
      clock: systemClock,
    });
    try {
      await eventually(async () => log.text().includes('Socket Mode failed to start'), 20_000, 'the failure');
    } finally {
      await slack.stop?.();
    }
    expect(log.text()).not.toContain(APP_TOKEN);
    expect(log.text()).not.toContain(SLACK_TOKEN);
  });

  it('Graph, Jira, ServiceNow and the action webhook: failed calls log no credential', async () => {
    const log = captured();
    const request = {
      actionId: 'a-1',
      kind: 'disable_user' as const,
      target: {
        kind: 'user' as const,
        key: 'adele@contoso.com',
        displayName: 'Adele',
        count: 1,
        privileged: false,
      },
      reason: 'test',
      evidence: {},
      idempotencyKey: 'vigil-action-a-1',
    };
    const common = { timeoutMs: 2_000, retries: 0 };
    const failures = await Promise.allSettled([
      graphExecutor({ baseUrl: await closedUrl(), bearer: staticBearer(GRAPH_TOKEN), ...common }).execute(
        request,
        AbortSignal.timeout(10_000),
      ),
      webhookExecutor({ url: `${await closedUrl()}/hook`, secret: EXECUTOR_SECRET, ...common }).execute(
        request,
        AbortSignal.timeout(10_000),
      ),
      jiraTickets({
        baseUrl: await closedUrl(),
        email: 'bot@contoso.com',
        apiToken: JIRA_TOKEN,
        projectKey: 'SEC',
      }).readStatus('SEC-1'),
      serviceNowTickets({
        instanceUrl: await closedUrl(),
        user: 'vigil',
        password: SERVICENOW_PASSWORD,
      }).readStatus('abc'),
    ]);
    for (const failure of failures) {
      expect(failure.status).toBe('rejected');
      log.logger.warn({ err: (failure as PromiseRejectedResult).reason }, 'call failed');
    }
    const text = log.text();
    expect(text.split('\n').filter(Boolean)).toHaveLength(4);
    for (const secret of [
      GRAPH_TOKEN,
      EXECUTOR_SECRET,
      JIRA_TOKEN,
      basic('bot@contoso.com', JIRA_TOKEN),
      SERVICENOW_PASSWORD,
      basic('vigil', SERVICENOW_PASSWORD),
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it('scrubs token-like fields and credentials in text at any depth, and survives cycles', () => {
    const log = captured();
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const shared = { id: 'shared' };
    log.logger.info(
      {
        a: { b: { c: { d: { config: { headers: { Authorization: 'Bearer abc.def.ghi' } } } } } },
        apiKey: 'k-123456',
        note: 'called with Bearer very-secret-bearer and xoxb-9-9-zzz',
        body: 'grant_type=client_credentials&client_assertion=eyJhbGciOi.assert.sig&client_secret=s3cr3t-form',
        clientAssertion: 'eyJ-assertion-field',
        VIGIL_GRAPH_CLIENT_CERTIFICATE_PASSPHRASE: 'pass-phrase-of-the-key',
        cyclic,
        pair: [shared, shared],
      },
      'sent Basic dXNlcjpwYXNz',
    );
    const text = log.text();
    for (const secret of [
      'abc.def.ghi',
      'k-123456',
      'very-secret-bearer',
      'xoxb-9-9-zzz',
      'dXNlcjpwYXNz',
      'eyJhbGciOi',
      's3cr3t-form',
      'eyJ-assertion-field',
      'pass-phrase-of-the-key',
    ]) {
      expect(text).not.toContain(secret);
    }
    const line = JSON.parse(text) as Record<string, any>;
    expect(line.a.b.c.d.config.headers.Authorization).toBe('[redacted]');
    expect(line.cyclic.self).toBe('[circular]');
    expect(line.pair).toEqual([{ id: 'shared' }, { id: 'shared' }]);
    expect(line.msg).toBe('sent Basic [redacted]');
  });
});
