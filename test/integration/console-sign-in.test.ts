import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OIDC_CLIENT, ROLE_CLAIM, startTestProvider, type TestProvider } from '../fakes/oidc-provider.js';
import { startTestVigil, type TestVigil } from '../helpers/harness.js';
import { CookieJar, signInThroughProvider, visit } from '../helpers/oidc-sign-in.js';

let provider: TestProvider;
let vigil: TestVigil;

const ACCOUNTS = [
  { login: 'alice', name: 'Alice Approver', email: 'alice@contoso.com', roles: ['Vigil.Approver'] },
  { login: 'vera', name: 'Vera Viewer', email: 'vera@contoso.com', roles: ['sales'] },
  { login: 'olga', name: 'Olga Offboarded', email: 'olga@contoso.com', roles: ['vigil-responder'] },
  { login: 'uma', name: 'Uma Unlinked', email: 'uma@contoso.com', roles: ['vigil-responder'] },
];

const oidcEnv = () => ({
  VIGIL_OIDC_ISSUER: provider.issuer,
  VIGIL_OIDC_CLIENT_ID: OIDC_CLIENT.id,
  VIGIL_OIDC_CLIENT_SECRET: OIDC_CLIENT.secret,
  VIGIL_OIDC_ROLE_CLAIM: ROLE_CLAIM,
});

const json = async (response: Response) => (await response.json()) as any;

/** A call to Vigil as the browser makes it: the jar's cookies, and the CSRF header when given. */
const withSession = (jar: CookieJar, method: string, path: string, body?: unknown, headers = {}) =>
  fetch(`${vigil.baseUrl}${path}`, {
    method,
    headers: {
      cookie: jar.header(vigil.baseUrl),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function signedIn(login: string, returnRoute?: string) {
  const jar = new CookieJar();
  const landed = await signInThroughProvider(jar, vigil.baseUrl, login, returnRoute);
  const session = await json(await withSession(jar, 'GET', '/auth/session'));
  return { jar, landed, session, csrf: { 'x-vigil-csrf': session.csrfToken as string } };
}

async function newAlert(id: string): Promise<string> {
  const ingested = await vigil.ingest('generic', {
    title: `Sign-in test ${id}`,
    source: 'sso',
    severity: 'high',
    id,
  });
  return (await json(ingested)).alerts[0].id;
}

beforeAll(async () => {
  provider = await startTestProvider(ACCOUNTS);
  vigil = await startTestVigil({ env: oidcEnv() });
  await provider.register(`${vigil.baseUrl}/auth/callback`);
});
afterAll(async () => {
  await vigil?.close();
  await provider?.close();
});

describe('console sign-in with OpenID Connect', () => {
  it('signs in through the provider (PKCE), lands on the page asked for, with the role from the claim', async () => {
    const { jar, landed, session } = await signedIn('alice', '#/alerts/42');
    expect(landed.status).toBe(302);
    expect(landed.headers.get('location')).toBe(`${vigil.baseUrl}/console/#/alerts/42`);
    const cookie = landed.headers.getSetCookie().find((line) => line.startsWith('vigil_session='));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
    expect(session).toMatchObject({ oidc: true, person: { name: 'Alice Approver', role: 'approver' } });
    expect(session.csrfToken).toEqual(expect.any(String));

    const me = await json(await withSession(jar, 'GET', '/api/me'));
    expect(me.role).toBe('approver');
    expect(me.identities).toEqual([`oidc:${provider.issuer}:alice`]);
    const audit = await vigil.handle.db
      .selectFrom('audit_log')
      .select(['actor_key', 'person_id'])
      .where('action', '=', 'session.signed_in')
      .where('person_id', '=', me.personId)
      .execute();
    expect(audit).toEqual([{ actor_key: `oidc:${provider.issuer}:alice`, person_id: me.personId }]);
    // The session cookie is never stored: only its digest.
    const secret = jar.get(vigil.baseUrl, 'vigil_session');
    const stored = await vigil.handle.db.selectFrom('console_sessions').select('id_hash').execute();
    expect(stored.map((row) => row.id_hash)).not.toContain(secret);
  });

  it('signs the same subject in as the same person, and a claim naming no Vigil role leaves the default', async () => {
    const first = await signedIn('vera');
    const again = await signedIn('vera');
    expect(again.session.person.id).toBe(first.session.person.id);
    expect(first.session.person.role).toBe('viewer');
    // A viewer is refused by the command layer, audited, like on every other surface.
    const alertId = await newAlert('vera-1');
    const refused = await withSession(
      first.jar,
      'POST',
      `/api/alerts/${alertId}/status`,
      { status: 'resolved' },
      first.csrf,
    );
    expect(refused.status).toBe(403);
    expect((await json(refused)).error.code).toBe('auth.forbidden');
  });

  it('refuses state changes made with the cookie without the CSRF header or from another origin', async () => {
    const { jar, csrf } = await signedIn('alice');
    const alertId = await newAlert('csrf-1');
    const path = `/api/alerts/${alertId}/status`;
    const bare = await withSession(jar, 'POST', path, { status: 'in_progress' });
    expect(bare.status).toBe(403);
    expect((await json(bare)).error.code).toBe('auth.csrf');
    const wrong = await withSession(
      jar,
      'POST',
      path,
      { status: 'in_progress' },
      { 'x-vigil-csrf': 'guessed' },
    );
    expect(wrong.status).toBe(403);
    const elsewhere = await withSession(
      jar,
      'POST',
      path,
      { status: 'in_progress' },
      {
        ...csrf,
        origin: 'https://evil.example',
      },
    );
    expect(elsewhere.status).toBe(403);
    const alert = await vigil.handle.db
      .selectFrom('alerts')
      .select('status')
      .where('id', '=', alertId)
      .executeTakeFirstOrThrow();
    expect(alert.status).toBe('new');

    const allowed = await withSession(
      jar,
      'POST',
      path,
      { status: 'in_progress' },
      { ...csrf, origin: vigil.baseUrl },
    );
    expect(allowed.status).toBe(200);
    expect((await json(allowed)).alert.status).toBe('in_progress');
  });

  it('keeps bearer tokens working beside sessions, and a bearer header wins over a cookie', async () => {
    const { jar } = await signedIn('alice');
    const me = await json(
      await vigil.api('GET', '/api/me', undefined, { cookie: jar.header(vigil.baseUrl) }),
    );
    expect(me.identity).toMatchObject({ platform: 'api', id: 'service' });
  });

  it('signs out: the session ends for good, audited', async () => {
    const { jar, csrf, session } = await signedIn('alice');
    const cookieBefore = jar.header(vigil.baseUrl);
    expect((await withSession(jar, 'POST', '/auth/logout')).status).toBe(403);
    const out = await withSession(jar, 'POST', '/auth/logout', undefined, csrf);
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().join()).toMatch(/vigil_session=; .*Max-Age=0/);
    const after = await fetch(`${vigil.baseUrl}/api/me`, { headers: { cookie: cookieBefore } });
    expect(after.status).toBe(401);
    const audit = await vigil.handle.db
      .selectFrom('audit_log')
      .select('action')
      .where('person_id', '=', session.person.id)
      .where('action', '=', 'session.signed_out')
      .execute();
    expect(audit).toHaveLength(1);
  });

  it('refuses an expired session', async () => {
    const { jar, session } = await signedIn('alice');
    await vigil.handle.db
      .updateTable('console_sessions')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('person_id', '=', session.person.id)
      .execute();
    const refused = await withSession(jar, 'GET', '/api/me');
    expect(refused.status).toBe(401);
    expect((await json(refused)).error.message).toMatch(/session has expired or was ended/);
    expect((await json(await withSession(jar, 'GET', '/auth/session'))).person).toBeNull();
  });

  it('ends the sessions of a disabled person and of an unlinked identity, and refuses their next sign-in', async () => {
    const olga = await signedIn('olga');
    const uma = await signedIn('uma');
    expect(olga.session.person.role).toBe('responder');
    expect((await vigil.api('POST', `/api/people/${olga.session.person.id}/disable`)).status).toBe(200);
    const key = encodeURIComponent(`oidc:${provider.issuer}:uma`);
    expect((await vigil.api('DELETE', `/api/people/${uma.session.person.id}/links/${key}`)).status).toBe(204);
    for (const { jar } of [olga, uma]) expect((await withSession(jar, 'GET', '/api/me')).status).toBe(401);
    const again = await signInThroughProvider(new CookieJar(), vigil.baseUrl, 'olga');
    expect(again.status).toBe(403);
    expect(await again.text()).toContain('disabled');
  });

  it('refuses a callback that does not belong to a sign-in this browser started', async () => {
    const jar = new CookieJar();
    const stray = await visit(jar, `${vigil.baseUrl}/auth/callback?code=abc&state=xyz`);
    expect(stray.status).toBe(400);
    expect(await stray.text()).toContain('expired or was already used');
  });

  it('passes a plausible login_hint on to the provider, and drops one that is not', async () => {
    const providerUrl = async (hint: string) => {
      const login = await fetch(`${vigil.baseUrl}/auth/login?login_hint=${encodeURIComponent(hint)}`, {
        redirect: 'manual',
      });
      expect(login.status).toBe(302);
      return new URL(login.headers.get('location') ?? '');
    };
    expect((await providerUrl('olga@contoso.com')).searchParams.get('login_hint')).toBe('olga@contoso.com');
    expect((await providerUrl('"><script>alert(1)</script>')).searchParams.has('login_hint')).toBe(false);
  });

  it('builds redirects and cookie flags from VIGIL_PUBLIC_URL behind a TLS proxy', async () => {
    const behindProxy = await startTestVigil({
      joining: vigil,
      roles: { web: true, worker: false },
      env: { ...oidcEnv(), VIGIL_PUBLIC_URL: 'https://vigil.example.com' },
    });
    try {
      const login = await fetch(
        `${behindProxy.baseUrl}/auth/login?return=${encodeURIComponent('#/actions')}`,
        {
          redirect: 'manual',
        },
      );
      expect(login.status).toBe(302);
      const to = new URL(login.headers.get('location') ?? '');
      expect(to.origin).toBe(provider.issuer);
      expect(to.searchParams.get('redirect_uri')).toBe('https://vigil.example.com/auth/callback');
      expect(to.searchParams.get('code_challenge_method')).toBe('S256');
      expect(login.headers.getSetCookie()[0]).toMatch(/^vigil_login=.*HttpOnly; SameSite=Lax; Secure$/);
    } finally {
      await behindProxy.close();
    }
  });

  it('answers 503 while the provider cannot be reached, and 404 where OpenID Connect is off', async () => {
    const closed = await startTestProvider([]);
    await closed.close();
    const unreachable = await startTestVigil({
      joining: vigil,
      roles: { web: true, worker: false },
      env: { ...oidcEnv(), VIGIL_OIDC_ISSUER: closed.issuer },
    });
    const off = await startTestVigil({ joining: vigil, roles: { web: true, worker: false } });
    try {
      const login = await fetch(`${unreachable.baseUrl}/auth/login`, { redirect: 'manual' });
      expect(login.status).toBe(503);
      expect(await login.text()).toContain('cannot reach the identity provider');
      expect((await fetch(`${off.baseUrl}/auth/login`, { redirect: 'manual' })).status).toBe(404);
      expect(await json(await fetch(`${off.baseUrl}/auth/session`))).toEqual({ oidc: false, person: null });
    } finally {
      await unreachable.close();
      await off.close();
    }
  });
});
