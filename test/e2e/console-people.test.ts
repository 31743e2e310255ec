import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  artifactPath,
  ensureChromium,
  ensureConsoleBuilt,
  launchBrowser,
  type TestBrowser,
} from '../helpers/browser.js';
import { eventually, startTestVigil, type TestVigil } from '../helpers/harness.js';
import { personWithToken, type TokenPerson } from '../helpers/people.js';

/** The console's People (admins) and Tokens pages in a real Chromium, against Postgres. */
const chromiumFound = await ensureChromium();
if ('missing' in chromiumFound)
  console.warn(`\n*** SKIPPING the people and tokens console tests: ${chromiumFound.missing}.\n`);

const TEAMS_KEY = 'teams:5e1b4f0a-1c2d-4e3f-8a9b-0c1d2e3f4a5b:b0b00000-0000-4000-8000-000000000002';

describe.skipIf('missing' in chromiumFound)('people and tokens in the web console', () => {
  let vigil: TestVigil;
  let browser: TestBrowser;
  let page: Page;
  let ada: TokenPerson;
  let bob: TokenPerson;
  let cara: TokenPerson;
  const pageErrors: string[] = [];

  const shot = async (name: string) =>
    page.screenshot({ path: await artifactPath(`console-${name}.png`), fullPage: true });
  const meWith = (token: string) =>
    fetch(`${vigil.baseUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } });
  const identity = (key: string) =>
    vigil.handle.db.selectFrom('person_identities').selectAll().where('key', '=', key).executeTakeFirst();
  const expectNothingUnavailable = async () => {
    expect(await page.getByTestId('not-available').count()).toBe(0);
    expect(await page.locator('main').textContent()).not.toMatch(/not available/i);
  };

  beforeAll(async () => {
    await ensureConsoleBuilt();
    vigil = await startTestVigil();
    ada = await personWithToken(vigil, 'ada', 'admin');
    bob = await personWithToken(vigil, 'bob', 'responder');
    cara = await personWithToken(vigil, 'cara', 'approver');
    if (!('path' in chromiumFound)) throw new Error('unreachable: the suite is skipped without Chromium');
    browser = await launchBrowser(chromiumFound.path);
    page = await browser.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('dialog', (dialog) => void dialog.accept());
    // Ada signs in with her own personal token: the Tokens page is hers.
    await page.goto(`${vigil.baseUrl}/console/#token=${ada.token}`);
    await page.getByLabel('Your name').fill('ada');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('signed-in-as').waitFor();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await vigil?.close();
  });

  it('Tokens: creates a token shown once, shows its last use, and revokes it', async () => {
    await page.goto(`${vigil.baseUrl}/console/#/tokens`);
    await page.getByTestId('tokens').waitFor();
    await page.getByLabel('Name').fill('deploy script');
    await page.getByLabel('Expires in days').fill('30');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = (await page.getByTestId('new-token').textContent()) ?? '';
    expect(secret).toMatch(/^vgl_/);
    const me = await meWith(secret);
    expect(me.status).toBe(200);
    expect(((await me.json()) as { personId: string }).personId).toBe(ada.personId);
    // Shown once: a fresh visit lists the token, never its secret.
    await page.reload();
    const row = page.locator('tr[data-token="deploy script"]');
    await row.waitFor();
    expect(await page.locator('main').textContent()).not.toContain(secret);
    expect(await row.getByTestId('last-used').textContent()).not.toBe('never');
    expect(await row.getByTestId('token-status').textContent()).toMatch(/^expires/);
    await expectNothingUnavailable();
    await shot('tokens');

    await row.getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => row.getByTestId('token-status').textContent()).toMatch(/^revoked/);
    expect((await meWith(secret)).status).toBe(401);
  });

  it('People: lists people with identities and roles; links, unlinks and offboards through the commands', async () => {
    await page.goto(`${vigil.baseUrl}/console/#/people`);
    const row = page.locator(`tr[data-person-id="${bob.personId}"]`);
    await row.waitFor();
    expect(await row.getByTestId('role').textContent()).toContain('responder');
    expect(await row.textContent()).toContain('console:test:bob');
    expect(
      await page.locator(`tr[data-person-id="${ada.personId}"]`).getByTestId('role').textContent(),
    ).toContain('admin');
    await expectNothingUnavailable();

    await row.getByLabel('Identity to link').fill(TEAMS_KEY);
    await row.getByRole('button', { name: 'Link', exact: true }).click();
    await row.locator(`li[data-identity="${TEAMS_KEY}"]`).waitFor();
    expect(await identity(TEAMS_KEY)).toMatchObject({ person_id: bob.personId, revoked_at: null });
    await shot('people');

    await row.locator(`li[data-identity="${TEAMS_KEY}"]`).getByRole('button', { name: 'Unlink' }).click();
    await expect
      .poll(async () => (await identity(TEAMS_KEY))?.revoked_at ?? null, { timeout: 10_000 })
      .not.toBeNull();
    await row.locator(`li[data-identity="${TEAMS_KEY}"] .badge`).waitFor();

    expect((await meWith(bob.token)).status).toBe(200);
    await row.getByRole('button', { name: 'Offboard' }).click();
    await row.getByTestId('disabled').waitFor();
    expect((await meWith(bob.token)).status).toBe(401);
    const audit = await eventually(
      async () =>
        (
          await vigil.handle.db
            .selectFrom('audit_log')
            .selectAll()
            .where('action', '=', 'person.disabled')
            .execute()
        )[0],
      5_000,
      'the offboarding audit row',
    );
    expect(audit).toMatchObject({ person_id: ada.personId, details: { personId: bob.personId } });
    await expectNothingUnavailable();
  });

  it('People is in the menu for admins only; anyone else at #/people is told why', async () => {
    await page.goto(`${vigil.baseUrl}/console/#/alerts`);
    await page.locator('nav.top a', { hasText: 'People' }).waitFor();

    // Cara, an approver, in a tab of her own (the token is kept per tab).
    const other = await browser.context.newPage();
    other.on('pageerror', (error) => pageErrors.push(error.message));
    await other.goto(`${vigil.baseUrl}/console/#token=${cara.token}`);
    await other.getByLabel('Your name').fill('cara');
    await other.getByRole('button', { name: 'Sign in' }).click();
    // The menu once /api/me has said who she is, so People is missing for that reason, not yet.
    await other.locator('nav.top[data-role="approver"]').waitFor();
    expect(await other.locator('nav.top a', { hasText: 'People' }).count()).toBe(0);

    await other.goto(`${vigil.baseUrl}/console/#/people`);
    const notice = other.getByTestId('admins-only');
    await notice.waitFor();
    expect(await notice.textContent()).toContain('Only admins manage people');
    expect(await notice.textContent()).toContain('you are an approver');
    expect(await other.getByTestId('people').count()).toBe(0);
    expect(await other.locator('.notice.error').count()).toBe(0);
    await other.screenshot({ path: await artifactPath('console-people-not-admin.png'), fullPage: true });
    await other.close();
  });

  it('caused no script errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
