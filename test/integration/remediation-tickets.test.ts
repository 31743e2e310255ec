import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeJira } from '../fakes/jira.js';
import { FakeServiceNow } from '../fakes/servicenow.js';
import { eventually, INGEST_TOKEN, startTestVigil, type TestVigil } from '../helpers/harness.js';

const JIRA_WEBHOOK_SECRET = 'jira-webhook-secret-0123456789';
const SERVICENOW_WEBHOOK_SECRET = 'servicenow-webhook-secret-0123';

const jira = new FakeJira();
const servicenow = new FakeServiceNow();
let vigil: TestVigil;
let snVigil: TestVigil;

beforeAll(async () => {
  await Promise.all([jira.start(), servicenow.start()]);
  const relayTimings = { pollMs: 100, redriveAfterMs: 2_000, redriveEveryMs: 500 };
  vigil = await startTestVigil({
    relayTimings,
    // Retries come quickly here, so the outage test outlasts many more attempts than the old ten.
    deliveryTimings: { baseMs: 50, capMs: 200 },
    env: {
      VIGIL_TICKETING: 'jira',
      VIGIL_TICKET_POLL_SECONDS: '1',
      JIRA_BASE_URL: jira.url,
      JIRA_EMAIL: jira.options.email,
      JIRA_API_TOKEN: jira.options.apiToken,
      JIRA_PROJECT_KEY: jira.options.projectKey,
      VIGIL_JIRA_WEBHOOK_SECRET: JIRA_WEBHOOK_SECRET,
    },
  });
  snVigil = await startTestVigil({
    relayTimings,
    env: {
      VIGIL_TICKETING: 'servicenow',
      VIGIL_TICKET_POLL_SECONDS: '1',
      SERVICENOW_INSTANCE_URL: servicenow.url,
      SERVICENOW_USER: servicenow.options.user,
      SERVICENOW_PASSWORD: servicenow.options.password,
      VIGIL_SERVICENOW_WEBHOOK_SECRET: SERVICENOW_WEBHOOK_SECRET,
    },
  });
});
afterAll(async () => {
  await vigil?.close();
  await snVigil?.close();
  await Promise.all([jira.stop(), servicenow.stop()]);
});

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

async function create(on: TestVigil, body: Record<string, unknown> = {}) {
  const response = await on.api('POST', '/api/remediations', {
    recommendation: 'Disable SMBv1',
    devices: ['srv-1', 'srv-2'],
    dueAt: inDays(7),
    priority: 'critical',
    notes: 'Wormable',
    ...body,
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as any).remediation as { id: string; number: string };
}

const detail = async (on: TestVigil, id: string) =>
  (await (await on.api('GET', `/api/remediations/${id}`)).json()) as Record<string, any>;

const ticketOf = (on: TestVigil, id: string) =>
  eventually(
    async () => {
      const current = await detail(on, id);
      return current.ticket.externalId === null ? undefined : current;
    },
    15_000,
    'the ticket',
  );

const statusOf = (on: TestVigil, id: string, status: string) =>
  eventually(
    async () => {
      const current = await detail(on, id);
      return current.status === status ? current : undefined;
    },
    15_000,
    `status ${status}`,
  );

describe('Jira', () => {
  it('opens an issue with an ADF description, the key as a label and the due date', async () => {
    const remediation = await create(vigil);
    const opened = await ticketOf(vigil, remediation.id);
    const issue = jira.issues.get(opened.ticket.externalId);
    expect(issue).toBeDefined();
    expect(opened.ticket.url).toBe(`${jira.url}/browse/${issue?.key}`);
    expect(issue?.fields.summary).toBe(`[Vigil R-${remediation.number}] Disable SMBv1`);
    expect(issue?.fields.description).toMatchObject({ type: 'doc', version: 1 });
    expect(JSON.stringify(issue?.fields.description)).toContain('srv-1, srv-2');
    expect(issue?.fields.labels).toEqual(expect.arrayContaining(['vigil', 'vigil-priority-critical']));
    expect(issue?.fields.duedate).toBe(inDays(7).slice(0, 10));
  });

  it('does not open a second issue when the answer to the first is lost and the job retries', async () => {
    jira.dropCreateAnswers = 1;
    const creates = jira.count('POST', '/rest/api/3/issue');
    const remediation = await create(vigil, { recommendation: 'Rotate the krbtgt password' });
    const opened = await ticketOf(vigil, remediation.id);
    // The first attempt created the issue and lost the answer; the retry found it by its label.
    expect(jira.count('POST', '/rest/api/3/issue')).toBe(creates + 1);
    const matching = [...jira.issues.values()].filter((issue) => issue.fields.summary.includes('krbtgt'));
    expect(matching).toHaveLength(1);
    expect(opened.ticket.externalId).toBe(matching[0]?.key);
    const recorded = opened.audit.find((row: any) => row.action === 'remediation.ticket_opened');
    expect(recorded.details.reused).toBe(true);
  });

  it('keeps retrying through a Jira outage longer than ten attempts, then opens the issue once', async () => {
    // Each attempt to open the issue first looks for it or creates it (polls of other tickets are GETs).
    const attempts = () =>
      jira.count('POST', '/rest/api/3/search/jql') + jira.count('POST', '/rest/api/3/issue');
    const before = attempts();
    jira.unavailable = true;
    try {
      const remediation = await create(vigil, { recommendation: 'Patch the VPN appliance' });
      // Ten attempts was where a ticket job used to give up for good; each attempt asks Jira once here.
      await eventually(async () => attempts() - before >= 12, 30_000, 'twelve refused attempts');
      expect((await detail(vigil, remediation.id)).ticket.externalId).toBeNull();
      jira.unavailable = false;
      const opened = await ticketOf(vigil, remediation.id);
      const matching = [...jira.issues.values()].filter((issue) =>
        issue.fields.summary.includes('VPN appliance'),
      );
      expect(matching.map((issue) => issue.key)).toEqual([opened.ticket.externalId]);
    } finally {
      jira.unavailable = false;
    }
  });

  it('completes the remediation when the issue is closed in Jira (poll)', async () => {
    const remediation = await create(vigil, { recommendation: 'Patch Exchange' });
    const opened = await ticketOf(vigil, remediation.id);
    jira.transition(opened.ticket.externalId, 'indeterminate');
    await statusOf(vigil, remediation.id, 'in_progress');
    jira.transition(opened.ticket.externalId, 'done');
    const done = await statusOf(vigil, remediation.id, 'completed');
    expect(done.completedBy).toBe('source:ticketing:jira');
  });

  it('completes the remediation from a jira:issue_updated webhook, and ignores unknown issues', async () => {
    const remediation = await create(vigil, { recommendation: 'Remove local admin rights' });
    const opened = await ticketOf(vigil, remediation.id);
    const issue = jira.transition(opened.ticket.externalId, 'done');
    const body = { timestamp: Date.now(), webhookEvent: 'jira:issue_updated', issue };
    const response = await vigil.ingest('tickets/jira', body, { token: JIRA_WEBHOOK_SECRET });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ remediationId: remediation.id, outcome: 'changed' });
    expect((await detail(vigil, remediation.id)).status).toBe('completed');

    const unknown = await vigil.ingest(
      'tickets/jira',
      { ...body, issue: { key: 'OTHER-1', fields: {} } },
      { token: JIRA_WEBHOOK_SECRET },
    );
    expect(await unknown.json()).toEqual({ outcome: 'unknown_ticket' });
  });

  it('accepts a webhook signed with X-Hub-Signature and refuses a wrong one', async () => {
    const raw = JSON.stringify({ webhookEvent: 'jira:issue_updated', issue: { key: 'NOPE-1', fields: {} } });
    const sign = (secret: string) => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
    const signature = sign(JIRA_WEBHOOK_SECRET);
    const good = await vigil.ingest('tickets/jira', null, {
      token: null,
      raw,
      headers: { 'x-hub-signature': signature },
    });
    expect(good.status).toBe(202);
    const bad = await vigil.ingest('tickets/jira', null, {
      token: null,
      raw,
      headers: { 'x-hub-signature': `sha256=${'0'.repeat(64)}` },
    });
    expect(bad.status).toBe(401);
    const none = await vigil.ingest('tickets/jira', null, { token: null, raw });
    expect(none.status).toBe(401);
    // The ingest token, which every alert source holds, is not the Jira webhook's secret.
    const withIngestToken = await vigil.ingest('tickets/jira', null, {
      token: null,
      raw,
      headers: { 'x-hub-signature': sign(INGEST_TOKEN) },
    });
    expect(withIngestToken.status).toBe(401);
    expect((await vigil.ingest('tickets/jira', null, { raw })).status).toBe(401);
  });

  it('comments on the issue when an exception is filed in Vigil', async () => {
    const remediation = await create(vigil, { recommendation: 'Block macros' });
    const opened = await ticketOf(vigil, remediation.id);
    await vigil.api('POST', `/api/remediations/${remediation.id}/exception`, {
      reason: 'compensating_control',
      justification: 'ASR rule in place',
      expiresAt: inDays(30),
    });
    await eventually(async () => (jira.issues.get(opened.ticket.externalId)?.comments.length ?? 0) > 0);
    expect(JSON.stringify(jira.issues.get(opened.ticket.externalId)?.comments[0])).toContain(
      'Compensating control',
    );
  });
});

describe('ServiceNow', () => {
  it('opens one incident per remediation even when the answer is lost, and completes it when resolved', async () => {
    servicenow.dropCreateAnswers = 1;
    const remediation = await create(snVigil, { recommendation: 'Update OpenSSL' });
    const opened = await ticketOf(snVigil, remediation.id);
    const records = [...servicenow.records.values()].filter((r) =>
      String(r.fields.short_description).includes('OpenSSL'),
    );
    expect(records).toHaveLength(1);
    expect(records[0]?.fields).toMatchObject({ urgency: '1', impact: '1' });
    expect(opened.ticket.externalId).toBe(records[0]?.sys_id);
    servicenow.setState(opened.ticket.externalId, '6');
    const done = await statusOf(snVigil, remediation.id, 'completed');
    expect(done.completedBy).toBe('source:ticketing:servicenow');
  });

  it('completes the remediation from the business rule webhook, with its own secret only', async () => {
    const remediation = await create(snVigil, { recommendation: 'Rotate the service account' });
    const opened = await ticketOf(snVigil, remediation.id);
    const body = { sys_id: opened.ticket.externalId, state: '6', table: 'incident' };
    expect((await snVigil.ingest('tickets/servicenow', body)).status).toBe(401);
    const response = await snVigil.ingest('tickets/servicenow', body, { token: SERVICENOW_WEBHOOK_SECRET });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ remediationId: remediation.id, outcome: 'changed' });
    expect((await detail(snVigil, remediation.id)).completedBy).toBe('source:ticketing:servicenow');
  });
});
