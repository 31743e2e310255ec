import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, INGEST_TOKEN, startTestVigil, type TestVigil } from '../helpers/harness.js';

// Requests from people and systems holding one credential, trying to do another's work: an alert
// source (the ingest token) or one ticketing system (its own secret) moving remediations it does
// not track, anyone reading /metrics.
const JIRA_SECRET = 'jira-webhook-secret-0123456789';
const SERVICENOW_SECRET = 'servicenow-webhook-secret-0123';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

let vigil: TestVigil;

beforeAll(async () => {
  // The built-in tracker; the Jira and ServiceNow webhooks are on, the generic one is not.
  vigil = await startTestVigil({
    env: {
      VIGIL_JIRA_WEBHOOK_SECRET: JIRA_SECRET,
      VIGIL_SERVICENOW_WEBHOOK_SECRET: SERVICENOW_SECRET,
      VIGIL_METRICS_TOKEN: METRICS_TOKEN,
    },
    relayTimings: { pollMs: 100 },
  });
});
afterAll(async () => {
  await vigil?.close();
});

const json = async (response: Response) => (await response.json()) as any;

/** A built-in remediation whose ticket is recorded, with a key the attacker names it by. */
async function builtinRemediation(key: string): Promise<string> {
  const response = await vigil.api(
    'POST',
    '/api/remediations',
    {
      recommendation: 'Disable SMBv1',
      devices: ['srv-1'],
      dueAt: new Date(Date.now() + 7 * 86_400_000).toISOString(),
      priority: 'high',
    },
    { 'idempotency-key': key },
  );
  expect(response.status).toBe(201);
  const id = (await json(response)).remediation.id as string;
  await eventually(
    async () => (await detail(id)).ticket.connector === 'builtin',
    15_000,
    'the built-in ticket',
  );
  return id;
}

const detail = async (id: string) => json(await vigil.api('GET', `/api/remediations/${id}`));

const closedInServiceNow = (key: string) => ({ sys_id: 'deadbeef', state: '6', correlation_id: key });

describe('ticket webhooks', () => {
  it('refuse the ingest token: an alert source cannot complete a remediation', async () => {
    const key = 'rem-attack-ingest-0001';
    const id = await builtinRemediation(key);
    const servicenow = await vigil.ingest('tickets/servicenow', closedInServiceNow(key));
    expect(servicenow.status).toBe(401);
    expect((await json(servicenow)).error.message).toContain('Wrong bearer token');
    const raw = JSON.stringify({
      webhookEvent: 'jira:issue_updated',
      issue: {
        key: 'SEC-1',
        fields: { labels: [`vigil-${key}`], status: { statusCategory: { key: 'done' } } },
      },
    });
    const jira = await vigil.ingest('tickets/jira', null, {
      token: null,
      raw,
      headers: {
        'x-hub-signature': `sha256=${createHmac('sha256', INGEST_TOKEN).update(raw).digest('hex')}`,
      },
    });
    expect(jira.status).toBe(401);
    expect((await detail(id)).status).toBe('open');
  });

  it('refuse a ticketing system completing a remediation another one tracks, and audit it', async () => {
    const key = 'rem-attack-connector-0001';
    const id = await builtinRemediation(key);
    const response = await vigil.ingest('tickets/servicenow', closedInServiceNow(key), {
      token: SERVICENOW_SECRET,
    });
    expect(response.status).toBe(403);
    const body = await json(response);
    expect(body.error.code).toBe('remediation.wrong_connector');
    expect(body.error.message).toContain('tracked by builtin, not servicenow');
    const after = await detail(id);
    expect(after.status).toBe('open');
    expect(after.audit).toContainEqual(
      expect.objectContaining({
        action: 'remediation.change_refused',
        actorKey: 'source:ticketing:servicenow',
        details: expect.objectContaining({ code: 'remediation.wrong_connector' }),
      }),
    );
  });

  it('are off, saying which variable turns them on, when their secret is not set', async () => {
    const response = await vigil.ingest(
      'tickets/webhook',
      { idempotencyKey: 'rem-x', status: 'done' },
      { token: INGEST_TOKEN },
    );
    expect(response.status).toBe(404);
    expect((await json(response)).error).toEqual({
      code: 'ticket_webhook.off',
      message: 'The webhook ticket webhook is off: set VIGIL_TICKET_WEBHOOK_SECRET to turn it on.',
    });
  });
});

describe('/metrics with VIGIL_METRICS_TOKEN', () => {
  it('requires the bearer token', async () => {
    const metrics = (headers: Record<string, string> = {}) => fetch(`${vigil.baseUrl}/metrics`, { headers });
    const anonymous = await metrics();
    expect(anonymous.status).toBe(401);
    expect((await json(anonymous)).error.message).toBe('Missing bearer token for vigil-metrics.');
    expect((await metrics({ authorization: `Bearer ${INGEST_TOKEN}` })).status).toBe(401);
    const scraper = await metrics({ authorization: `Bearer ${METRICS_TOKEN}` });
    expect(scraper.status).toBe(200);
    expect(await scraper.text()).toContain('vigil_');
  });
});
