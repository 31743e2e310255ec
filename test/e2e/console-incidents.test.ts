import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  artifactPath,
  ensureChromium,
  ensureConsoleBuilt,
  launchBrowser,
  type TestBrowser,
} from '../helpers/browser.js';
import { API_TOKEN, eventually, fixture, startTestVigil, type TestVigil } from '../helpers/harness.js';

/** The console's incident list and incident view in a real Chromium: the alerts and Resolve incident. */
const chromiumFound = await ensureChromium();
if ('missing' in chromiumFound)
  console.warn(`\n*** SKIPPING the incident console tests: ${chromiumFound.missing}.\n`);

const ALERT = JSON.parse(
  readFileSync(fixture('alerts/graph-security/alert.mde-device-file-process-registry.docs.json'), 'utf8'),
) as Record<string, unknown>;

describe.skipIf('missing' in chromiumFound)('incidents in the web console', () => {
  let vigil: TestVigil;
  let browser: TestBrowser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await ensureConsoleBuilt();
    vigil = await startTestVigil();
    const alerts = ['console-a1', 'console-a2'].map((id) => ({
      ...ALERT,
      id,
      incidentId: 'console-inc',
      status: 'new',
    }));
    expect((await vigil.ingest('graph', { value: alerts })).status).toBe(202);
    if (!('path' in chromiumFound)) throw new Error('unreachable: the suite is skipped without Chromium');
    browser = await launchBrowser(chromiumFound.path);
    page = await browser.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${vigil.baseUrl}/console/#token=${API_TOKEN}`);
    await page.getByLabel('Your name').fill('dana');
    await page.getByRole('button', { name: 'Sign in' }).click();
  });
  afterAll(async () => {
    await browser?.close();
    await vigil?.close();
  });

  it('lists the incident, shows its alerts, and resolves them all from Resolve incident', async () => {
    await page.goto(`${vigil.baseUrl}/console/#/incidents`);
    const row = page.locator('[data-testid="incident-list"] tr[data-incident-id]');
    await row.first().waitFor();
    expect(await row.first().textContent()).toContain('2: 2 New');
    await row.first().locator('a').click();
    await page.getByTestId('incident-alerts').waitFor();
    expect(await page.locator('[data-testid="incident-alerts"] tr[data-alert-id]').count()).toBe(2);
    await page.getByRole('button', { name: 'Resolve incident' }).click();
    await page.getByLabel('Classification').selectOption('false_positive');
    await page.getByRole('button', { name: 'Resolve every alert' }).click();
    await eventually(
      async () =>
        (await page.getByTestId('incident-alerts').textContent())?.match(/False positive/g)?.length === 2,
      15_000,
      'both alerts shown resolved as false positives',
    );
    await page.screenshot({ path: await artifactPath('console-incident.png'), fullPage: true });
    const statuses = await vigil.handle.db
      .selectFrom('alerts')
      .select(['status', 'status_changed_by'])
      .where('source_id', 'in', ['console-a1', 'console-a2'])
      .execute();
    expect(statuses.map((alert) => alert.status)).toEqual(['resolved', 'resolved']);
    // The admin token acts as the API service identity.
    expect(statuses[0]?.status_changed_by).toMatchObject({ kind: 'user', platform: 'api' });
    expect(pageErrors).toEqual([]);
  });
});
