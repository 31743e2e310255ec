import { readFile } from 'node:fs/promises';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeExecutor } from '../fakes/executor.js';
import {
  artifactPath,
  ensureChromium,
  ensureConsoleBuilt,
  launchBrowser,
  type TestBrowser,
} from '../helpers/browser.js';
import {
  API_TOKEN,
  eventually,
  startTestVigil,
  TEST_DATABASE_URL,
  type TestVigil,
} from '../helpers/harness.js';
import { personWithToken } from '../helpers/people.js';

/**
 * The web console in a real Chromium against a whole Vigil (real Postgres and Redis): sign-in by
 * link, the queue, one alert with its chat cards, buttons that change Postgres, live updates,
 * escaping, and the pages for APIs that other releases add.
 */
const chromiumFound = await ensureChromium();
if ('missing' in chromiumFound) {
  console.warn(`\n*** SKIPPING the web console browser tests: ${chromiumFound.missing}.\n`);
}

const SCRIPT_TITLE = '<script>alert(1)</script>';

describe.skipIf('missing' in chromiumFound)('web console in Chromium', () => {
  let vigil: TestVigil;
  let browser: TestBrowser;
  let page: Page;
  let db: pg.Client;
  // Approved actions go to a webhook executor: this fake records what it was asked to do.
  let executor: FakeExecutor;
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  let travelId = '';
  let scriptId = '';

  const shot = async (name: string) =>
    page.screenshot({ path: await artifactPath(`console-${name}.png`), fullPage: true });

  const ingest = async (body: unknown): Promise<string> => {
    const response = await vigil.ingest('generic', body);
    expect(response.status).toBe(202);
    const answer = (await response.json()) as { alerts: { id: string }[] };
    return answer.alerts[0]!.id;
  };

  const statusInPostgres = async (id: string): Promise<string> => {
    const result = await db.query<{ status: string }>(
      `SELECT status FROM "${vigil.schema}".alerts WHERE id = $1`,
      [id],
    );
    return result.rows[0]!.status;
  };

  /** Is this API on this Vigil yet? (Investigations and remediations arrive in other releases.) */
  const hasApi = async (path: string): Promise<boolean> => {
    const response = await vigil.api('GET', path);
    const body = (await response.json().catch(() => ({}))) as { error?: { code?: string } };
    return !(response.status === 404 && body.error?.code === 'route.not_found');
  };

  beforeAll(async () => {
    await ensureConsoleBuilt();
    executor = await new FakeExecutor('executor-secret-0123456789').start();
    vigil = await startTestVigil({
      env: {
        VIGIL_EXECUTOR_WEBHOOK_URL: `${executor.url}/webhook`,
        VIGIL_EXECUTOR_WEBHOOK_SECRET: 'executor-secret-0123456789',
      },
    });
    db = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
    travelId = await ingest({
      title: 'Impossible travel for adele.vance@contoso.com',
      severity: 'high',
      source: 'idp',
      id: 'travel-1',
      description: 'Sign-ins from Lisbon and Singapore within 20 minutes.',
      policy: { name: 'Impossible travel', url: 'https://idp.example.com/policies/7' },
      entities: [
        { kind: 'user', id: 'adele.vance@contoso.com', name: 'Adele Vance' },
        { kind: 'ip', id: '198.51.100.7' },
      ],
      links: [{ title: 'Sign-in log', url: 'https://idp.example.com/logs/1' }],
    });
    scriptId = await ingest({
      title: SCRIPT_TITLE,
      severity: 'critical',
      source: 'generic',
      description: '<img src=x onerror="alert(2)"> *bold* <https://evil.example|click>',
      entities: [{ kind: 'device', id: 'fin-ws-17', name: '<b>FIN-WS-17</b>' }],
    });
    if (!('path' in chromiumFound)) throw new Error('unreachable: the suite is skipped without Chromium');
    browser = await launchBrowser(chromiumFound.path);
    page = await browser.context.newPage();
    page.on('dialog', async (dialog) => {
      dialogs.push(dialog.message());
      await dialog.dismiss();
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      // A CSP violation is reported on the console; the bundle must not cause any.
      if (message.type() === 'error') pageErrors.push(message.text());
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await db?.end();
    await vigil?.close();
    await executor?.stop();
  });

  it('serves the console with a Content-Security-Policy and no token in the page', async () => {
    const response = await fetch(`${vigil.baseUrl}/console/`);
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await response.text();
    expect(html).not.toContain(API_TOKEN);
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
    const redirect = await fetch(`${vigil.baseUrl}/`, { redirect: 'manual' });
    expect(redirect.headers.get('location')).toBe('/console/');
    const traversal = await fetch(`${vigil.baseUrl}/console/..%2f..%2fpackage.json`);
    expect(traversal.status).toBe(404);
  });

  it('signs in from the link, strips the token from the address, and lists the queue', async () => {
    await page.goto(`${vigil.baseUrl}/console/#token=${API_TOKEN}`);
    expect(page.url()).not.toContain(API_TOKEN);
    await shot('sign-in');
    await page.getByLabel('Your name').fill('e2e.tester');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toBe('e2e.tester');
    expect(await page.evaluate(() => (globalThis as any).sessionStorage.getItem('vigil.token'))).toBe(
      API_TOKEN,
    );
    expect(page.url()).not.toContain(API_TOKEN);

    const row = page.locator(`tr[data-alert-id="${travelId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('Impossible travel for adele.vance@contoso.com');
    expect(await row.locator('[data-status]').getAttribute('data-status')).toBe('new');
    await shot('queue');
  });

  it('shows a script-tag title as text and runs nothing from alert data', async () => {
    const row = page.locator(`tr[data-alert-id="${scriptId}"]`);
    await row.waitFor();
    expect(await row.locator('a.alert-title').textContent()).toBe(SCRIPT_TITLE);
    await row.locator('a.alert-title').click();
    await page.getByTestId('alert-title').waitFor();
    expect(await page.getByTestId('alert-title').textContent()).toContain(SCRIPT_TITLE);
    await page.getByTestId('slack-card').waitFor();
    await page.getByTestId('teams-card').locator('.ac-adaptiveCard').waitFor();
    // The preview shows the hostile text but has no element made from it.
    expect(await page.getByTestId('slack-card').textContent()).toContain('<script>alert(1)</script>');
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.locator('main b').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(1);
    expect(await page.locator('a[href="https://evil.example/"]').count()).toBeLessThanOrEqual(1);
    expect(dialogs).toEqual([]);
    await shot('alert-script-title');
  });

  it('Mark in progress changes the alert in Postgres and on the page; the audit names who the token is', async () => {
    await page.goto(`${vigil.baseUrl}/console/#/alerts/${travelId}`);
    await page.getByTestId('teams-card').locator('.ac-adaptiveCard').waitFor();
    expect(await page.getByTestId('slack-card').textContent()).toContain('Impossible travel');
    await shot('alert');
    await page.getByTestId('alert-actions').getByRole('button', { name: 'Mark in progress' }).click();
    await page.locator('.chips [data-status="in_progress"]').waitFor();
    expect(await statusInPostgres(travelId)).toBe('in_progress');
    // The token decides who acts, not the name typed: VIGIL_API_TOKEN is the API service.
    await expect.poll(() => page.getByTestId('audit-trail').textContent()).toContain('api:service');
    // The Slack preview follows the new state.
    await expect.poll(() => page.getByTestId('slack-card').textContent()).toContain('In progress');
  });

  it('Resolve with a classification and comment, then Reopen, through the same API', async () => {
    await page.getByTestId('alert-actions').getByRole('button', { name: 'Resolve', exact: true }).click();
    await page.getByLabel('Classification').selectOption('false_positive');
    await page.getByLabel('Comment').fill('Travelling with a VPN');
    await page.getByRole('button', { name: 'Resolve alert' }).click();
    await page.locator('.chips [data-status="resolved"]').waitFor();
    expect(await statusInPostgres(travelId)).toBe('resolved');
    const detail = (await (await vigil.api('GET', `/api/alerts/${travelId}`)).json()) as {
      classification: string;
      resolutionComment: string;
    };
    expect(detail).toMatchObject({
      classification: 'false_positive',
      resolutionComment: 'Travelling with a VPN',
    });
    await shot('alert-resolved');
    await page.getByTestId('alert-actions').getByRole('button', { name: 'Reopen' }).click();
    await page.locator('.chips [data-status="new"]').waitFor();
    expect(await statusInPostgres(travelId)).toBe('new');
  });

  it('follows changes made elsewhere without a reload', async () => {
    await page.goto(`${vigil.baseUrl}/console/#/alerts`);
    await page.locator(`tr[data-alert-id="${travelId}"]`).waitFor();
    const marker = await page.evaluate(() => {
      (globalThis as unknown as { vigilMarker: number }).vigilMarker = 42;
      return 42;
    });
    // Someone else (a Slack click, another analyst) moves the alert; a new alert arrives.
    const changed = await vigil.api('POST', `/api/alerts/${travelId}/status`, { status: 'in_progress' });
    expect(changed.status).toBe(200);
    const lateId = await ingest({ title: 'Late arrival: mass download from SharePoint', severity: 'medium' });
    await page
      .locator(`tr[data-alert-id="${travelId}"] [data-status="in_progress"]`)
      .waitFor({ timeout: 10_000 });
    await page.locator(`tr[data-alert-id="${lateId}"]`).waitFor({ timeout: 10_000 });
    // Same document: the page updated itself.
    expect(await page.evaluate(() => (globalThis as unknown as { vigilMarker?: number }).vigilMarker)).toBe(
      marker,
    );
  });

  it('filters the queue by severity and status', async () => {
    await page.getByLabel('critical').check();
    await expect.poll(() => page.locator('tr[data-alert-id]').count()).toBe(1);
    expect(await page.locator(`tr[data-alert-id="${scriptId}"]`).count()).toBe(1);
    await page.getByLabel('critical').uncheck();
    await page.getByLabel('New', { exact: true }).uncheck();
    await page.getByLabel('In progress').uncheck();
    await page.getByLabel('Resolved').check();
    await expect.poll(() => page.locator('tr[data-alert-id]').count()).toBe(0);
    await page.getByLabel('Resolved').uncheck();
    await page.getByLabel('New', { exact: true }).check();
    await page.getByLabel('In progress').check();
  });

  it('pending actions: approve from the console, or "not available yet" without the API', async () => {
    await page.goto(`${vigil.baseUrl}/console/#/actions`);
    if (!(await hasApi('/api/actions'))) {
      await page.getByTestId('not-available').waitFor();
      await shot('actions');
      return;
    }
    // With the API: Adele's account is on the watchlist, so an investigation of the travel alert
    // finds her malicious and proposes actions that wait for approval. Someone else (the SOC lead,
    // with their own token) starts it: whoever requested an action may not approve it, and the
    // console here acts as the API service.
    await vigil.api('POST', '/api/watchlist', {
      kind: 'user',
      value: 'adele.vance@contoso.com',
      reason: 'credentials for sale',
    });
    const lead = await personWithToken(vigil, 'soc.lead', 'responder');
    const started = await vigil.api('POST', `/api/alerts/${travelId}/investigate`, undefined, lead.as);
    expect(started.status).toBeLessThan(300);
    const pending = await eventually(
      async () => {
        const body = (await (await vigil.api('GET', '/api/actions')).json()) as
          | { actions: { id: string }[] }
          | { id: string }[];
        const actions = Array.isArray(body) ? body : body.actions;
        return actions[0];
      },
      20_000,
      'a pending action',
    );
    const row = page.locator(`tr[data-action-id="${pending.id}"]`);
    await row.waitFor({ timeout: 10_000 });
    await shot('actions');
    await row.getByRole('button', { name: 'Approve' }).click();
    // Approved, it leaves the pending list, and the act worker runs it.
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    const actionNow = async (id: string) => {
      const body = (await (await vigil.api('GET', '/api/actions?status=all')).json()) as {
        actions: {
          id: string;
          status: string;
          decisions: { approverKey: string; reason: string | null }[];
        }[];
      };
      return body.actions.find((action) => action.id === id);
    };
    const ran = await eventually(
      async () => {
        const action = await actionNow(pending.id);
        return action !== undefined && ['done', 'failed'].includes(action.status) ? action : undefined;
      },
      15_000,
      'the approved action to run',
    );
    expect(ran.status).toBe('done');
    expect(executor.calls.length).toBeGreaterThanOrEqual(1);
    const service = (await (await vigil.api('GET', '/api/me')).json()) as { personId: string };
    expect(ran.decisions.map((decision) => decision.approverKey)).toEqual([`person:${service.personId}`]);

    // Another of its actions, rejected with a reason.
    const other = page.locator('tr[data-action-id]').first();
    const otherId = await other.getAttribute('data-action-id');
    if (otherId !== null) {
      await other.getByRole('button', { name: 'Reject' }).click();
      await other.locator('input[name="reason"]').fill('User is travelling, confirmed by phone');
      await other.getByRole('button', { name: 'Reject' }).click();
      await page.locator(`tr[data-action-id="${otherId}"]`).waitFor({ state: 'detached', timeout: 10_000 });
      const rejected = await actionNow(otherId);
      expect(rejected?.status).toBe('rejected');
      expect(rejected?.decisions[0]?.reason).toBe('User is travelling, confirmed by phone');
    }
  }, 60_000);

  it('investigations page: a graph when the API exists, "not available yet" otherwise', async () => {
    await page.goto(`${vigil.baseUrl}/console/#/investigations`);
    if (!(await hasApi('/api/investigations'))) {
      await page.getByTestId('not-available').waitFor();
    } else {
      await page.locator('main table, main p.muted').first().waitFor();
    }
    await shot('investigations');
    const detail = (await (await vigil.api('GET', `/api/alerts/${travelId}`)).json()) as {
      investigations?: { id: string }[];
    };
    const investigation = detail.investigations?.[0];
    if (investigation !== undefined) {
      await page.goto(`${vigil.baseUrl}/console/#/investigations/${investigation.id}`);
      await page.getByTestId('investigation-graph').waitFor();
      await shot('investigation');
    }
  });

  it('draws an investigation as a graph (the API answer stubbed in the browser, to pin the page)', async () => {
    const fake = {
      id: 'inv-fake-1',
      number: '7',
      status: 'pending_approval',
      alerts: [{ id: travelId, title: 'Impossible travel for adele.vance@contoso.com', status: 'new' }],
      entities: [
        {
          kind: 'user',
          key: 'adele.vance@contoso.com',
          displayName: 'Adele Vance',
          verdict: 'suspicious',
          why: 'new country',
        },
        {
          kind: 'device',
          key: 'fin-ws-17',
          displayName: '<b>FIN-WS-17</b>',
          verdict: 'malicious',
          why: 'EDR hit',
        },
        { kind: 'ip', key: '198.51.100.7', displayName: '198.51.100.7', verdict: 'unknown', why: '' },
      ],
      findings: [
        {
          key: 'f1',
          title: 'Sign-in from a TOR exit node',
          verdict: 'suspicious',
          entity: { kind: 'ip', key: '198.51.100.7' },
        },
      ],
      log: [
        {
          stepKey: 'enrich.ip',
          provider: 'builtin',
          outcome: 'succeeded',
          endedAt: new Date().toISOString(),
        },
      ],
      actions: [
        {
          id: 'act-1',
          kind: 'isolate_device',
          status: 'pending',
          entity: { kind: 'device', key: 'fin-ws-17', displayName: 'FIN-WS-17' },
        },
      ],
    };
    await page.route('**/api/investigations/inv-fake-1', (route) => route.fulfill({ json: fake }));
    await page.goto(`${vigil.baseUrl}/console/#/investigations/inv-fake-1`);
    const graph = page.getByTestId('investigation-graph');
    await graph.waitFor();
    expect(await graph.locator('g.node').count()).toBe(6);
    expect(await graph.locator('line.edge').count()).toBe(5);
    expect(await graph.textContent()).toContain('<b>FIN-WS-17</b>');
    expect(await page.locator('main b').count()).toBe(0);
    await page.locator('tr[data-action-id="act-1"]').getByRole('button', { name: 'Approve' }).waitFor();
    await shot('investigation-stubbed');
    await page.unroute('**/api/investigations/inv-fake-1');
  });

  it('remediation activity: exception filed from the console, CSV export downloads (or "not available yet")', async () => {
    await page.goto(`${vigil.baseUrl}/console/#/remediations`);
    if (!(await hasApi('/api/remediations'))) {
      await page.getByTestId('not-available').waitFor();
      await shot('remediations');
      return;
    }
    const created = await vigil.api('POST', '/api/remediations', {
      recommendation: 'Patch CVE-2026-1234 on <b>FIN</b> workstations',
      devices: ['fin-ws-17', 'fin-ws-18'],
      dueAt: new Date(Date.now() + 7 * 86_400_000).toISOString(),
      priority: 'high',
      alertId: travelId,
    });
    expect(created.status).toBe(201);
    const { remediation } = (await created.json()) as { remediation: { id: string } };
    const row = page.locator(`tr[data-remediation-id="${remediation.id}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toContain('Patch CVE-2026-1234 on <b>FIN</b> workstations');
    await shot('remediations');

    await row.getByRole('button', { name: 'File exception' }).click();
    await row.locator('select[name="reason"]').selectOption('compensating_control');
    await row.locator('input[name="justification"]').fill('EDR blocks the exploit until the patch window');
    await row.getByRole('button', { name: 'File', exact: true }).click();
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    const stored = (await (await vigil.api('GET', `/api/remediations/${remediation.id}`)).json()) as {
      remediation?: { status: string };
      status?: string;
    };
    expect(stored.remediation?.status ?? stored.status).toBe('exception');
    await page.getByRole('tab', { name: 'Exceptions' }).click();
    await page.locator(`tr[data-remediation-id="${remediation.id}"]`).waitFor();
    expect(await page.locator(`tr[data-remediation-id="${remediation.id}"]`).textContent()).toContain(
      'Compensating control',
    );
    await shot('remediation-exceptions');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('vigil-remediations-exceptions.csv');
    const csv = await readFile(await download.path(), 'utf8');
    expect(csv).toContain('Patch CVE-2026-1234');
  });

  it('policies and on-call pages render', async () => {
    await page.goto(`${vigil.baseUrl}/console/#/policies`);
    await page.getByRole('heading', { name: 'Alert routes' }).waitFor();
    await page.getByText('No routes').or(page.locator('main table')).first().waitFor();
    await shot('policies');
    await page.goto(`${vigil.baseUrl}/console/#/on-call`);
    await page.getByRole('heading', { name: 'On-call' }).waitFor();
  });

  it('a refused token sends the console back to sign-in', async () => {
    await page.evaluate(() => (globalThis as any).sessionStorage.setItem('vigil.token', 'wrong-token'));
    await page.goto(`${vigil.baseUrl}/console/#/alerts`);
    await page.getByText('Vigil refused the token').waitFor();
    expect(await page.evaluate(() => (globalThis as any).sessionStorage.getItem('vigil.token'))).toBeNull();
  });

  it('caused no script errors and no CSP violations', () => {
    // 'Failed to load resource' is Chromium noting the 404s of APIs not here yet and the refused token.
    expect(pageErrors.filter((message) => !message.startsWith('Failed to load resource'))).toEqual([]);
    expect(dialogs).toEqual([]);
  });
});
