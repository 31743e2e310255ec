import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OIDC_CLIENT, ROLE_CLAIM, startTestProvider, type TestProvider } from '../fakes/oidc-provider.js';
import {
  artifactPath,
  ensureChromium,
  ensureConsoleBuilt,
  launchBrowser,
  type TestBrowser,
} from '../helpers/browser.js';
import { eventually, startTestVigil, type TestVigil } from '../helpers/harness.js';
import { personWithToken } from '../helpers/people.js';

/**
 * Console sign-in with OpenID Connect in a real Chromium, against a real provider (oidc-provider,
 * its own login and consent pages): a card link asks to sign in, the person lands on the page they
 * asked for, approves an action as themselves, signs out; an expired session sends them back to
 * sign-in.
 */
const chromiumFound = await ensureChromium();
if ('missing' in chromiumFound) {
  console.warn(`\n*** SKIPPING the console sign-in browser tests: ${chromiumFound.missing}.\n`);
}

describe.skipIf('missing' in chromiumFound)('console sign-in with OpenID Connect in Chromium', () => {
  let provider: TestProvider;
  let vigil: TestVigil;
  let browser: TestBrowser;
  let page: Page;
  const pageErrors: string[] = [];
  let pendingId = '';

  const shot = async (name: string) =>
    page.screenshot({ path: await artifactPath(`sign-in-${name}.png`), fullPage: true });

  /** The provider's own pages: its login form (any password), then its consent page. */
  const signInAtProvider = async (login: string) => {
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
  };

  beforeAll(async () => {
    await ensureConsoleBuilt();
    provider = await startTestProvider([
      { login: 'alice', name: 'Alice Approver', email: 'alice@contoso.com', roles: ['vigil-approver'] },
    ]);
    vigil = await startTestVigil({
      env: {
        VIGIL_OIDC_ISSUER: provider.issuer,
        VIGIL_OIDC_CLIENT_ID: OIDC_CLIENT.id,
        VIGIL_OIDC_CLIENT_SECRET: OIDC_CLIENT.secret,
        VIGIL_OIDC_ROLE_CLAIM: ROLE_CLAIM,
        VIGIL_DEMO_EXECUTOR: '1',
      },
    });
    await provider.register(`${vigil.baseUrl}/auth/callback`);

    // An action waiting for approval: the SOC lead investigates an alert on a watchlisted user.
    const ingested = await vigil.ingest('generic', {
      title: 'Impossible travel for adele.vance@contoso.com',
      severity: 'high',
      source: 'idp',
      id: 'travel-oidc',
      entities: [{ kind: 'user', id: 'adele.vance@contoso.com', name: 'Adele Vance' }],
    });
    const alertId = ((await ingested.json()) as { alerts: { id: string }[] }).alerts[0]!.id;
    await vigil.api('POST', '/api/watchlist', {
      kind: 'user',
      value: 'adele.vance@contoso.com',
      reason: 'leak',
    });
    const lead = await personWithToken(vigil, 'soc.lead', 'responder');
    expect((await vigil.api('POST', `/api/alerts/${alertId}/investigate`, undefined, lead.as)).status).toBe(
      202,
    );
    pendingId = await eventually(
      async () => {
        const body = (await (await vigil.api('GET', '/api/actions')).json()) as { actions: { id: string }[] };
        return body.actions.length > 0 ? body.actions[0]!.id : undefined;
      },
      20_000,
      'a pending action',
    );

    if (!('path' in chromiumFound)) throw new Error('unreachable: the suite is skipped without Chromium');
    browser = await launchBrowser(chromiumFound.path);
    page = await browser.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await vigil?.close();
    await provider?.close();
  });

  it('a card link asks to sign in, and the provider brings the person back to that page, signed in', async () => {
    await page.goto(`${vigil.baseUrl}/console/#/actions`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${provider.issuer}/**`);
    await shot('provider');
    await signInAtProvider('alice');
    await page.waitForURL(`${vigil.baseUrl}/console/#/actions`);
    await expect
      .poll(() => page.getByTestId('signed-in-as').textContent(), { timeout: 10_000 })
      .toBe('Alice Approver (approver)');
    const cookies = await browser.context.cookies(vigil.baseUrl);
    expect(cookies.find((cookie) => cookie.name === 'vigil_session')).toMatchObject({
      httpOnly: true,
      sameSite: 'Lax',
    });
    await shot('landed');
  });

  it('approves an action as the person who signed in', async () => {
    const row = page.locator(`tr[data-action-id="${pendingId}"]`);
    await row.waitFor({ timeout: 10_000 });
    await row.getByRole('button', { name: 'Approve' }).click();
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    const decision = await vigil.handle.db
      .selectFrom('action_decisions')
      .select(['approver_key', 'decision'])
      .where('action_id', '=', pendingId)
      .executeTakeFirstOrThrow();
    const alice = await vigil.handle.db
      .selectFrom('person_identities')
      .select('person_id')
      .where('key', '=', `oidc:${provider.issuer}:alice`)
      .executeTakeFirstOrThrow();
    expect(decision).toEqual({ approver_key: `person:${alice.person_id}`, decision: 'approve' });
  });

  it('signs out: back to the sign-in page, and the old cookie no longer works', async () => {
    const [session] = (await browser.context.cookies(vigil.baseUrl)).filter(
      (c) => c.name === 'vigil_session',
    );
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const replayed = await fetch(`${vigil.baseUrl}/api/me`, {
      headers: { cookie: `vigil_session=${session?.value}` },
    });
    expect(replayed.status).toBe(401);
  });

  it('an expired session sends the person back to sign-in', async () => {
    await page.getByRole('button', { name: 'Sign in' }).click();
    // The provider remembers Alice and her consent: it may send her straight back.
    await page.waitForURL(/\/interaction\/|\/console\//);
    if (page.url().includes('/interaction/')) await signInAtProvider('alice');
    await page.waitForURL(`${vigil.baseUrl}/console/#/actions`);
    await page.getByTestId('signed-in-as').waitFor();
    await vigil.handle.db
      .updateTable('console_sessions')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .execute();
    // The next API call (the queue's refresh, here) is refused: the page asks to sign in again.
    await page.goto(`${vigil.baseUrl}/console/#/alerts`);
    await page.getByText('Your session expired or was ended').waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.getByTestId('signed-in-as').count()).toBe(0);
    await shot('expired');
  });

  it('caused no script errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
