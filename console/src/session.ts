/**
 * Who is signed in. Either an API token typed in or brought by a sign-in link (kept in
 * sessionStorage, sent as a bearer header: no cookie, so no CSRF exposure), or a console session
 * from OpenID Connect sign-in: an HttpOnly cookie the page never sees, plus the session's CSRF
 * token, which every state-changing call carries as `X-Vigil-CSRF` (kept in memory only).
 */
export type Session =
  | { readonly kind: 'token'; readonly token: string; readonly user: string }
  | { readonly kind: 'cookie'; readonly csrf: string; readonly user: string; readonly role: string };

const TOKEN_KEY = 'vigil.token';
const USER_KEY = 'vigil.user';

/** The names the sign-in page accepts for display. */
export const USER_PATTERN = /^[\w.@:-]{1,100}$/;

let cookieSession: Session | null = null;

export function loadSession(): Session | null {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const user = sessionStorage.getItem(USER_KEY);
  return token && user ? { kind: 'token', token, user } : cookieSession;
}

export function saveSession(session: Session): void {
  if (session.kind === 'cookie') {
    cookieSession = session;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, session.token);
  sessionStorage.setItem(USER_KEY, session.user);
}

export function pendingToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Forgets the session on this page (the server's side is ended by `endSession`). */
export function signOut(): void {
  cookieSession = null;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

/** What `GET /auth/session` says: is OpenID Connect sign-in on, and the cookie session if any. */
export async function serverSession(): Promise<{ readonly oidc: boolean; readonly session: Session | null }> {
  const response = await fetch('/auth/session', { credentials: 'same-origin' });
  if (!response.ok) return { oidc: false, session: null };
  const body = (await response.json()) as {
    oidc: boolean;
    person: { name: string | null; role: string } | null;
    csrfToken?: string;
  };
  const session: Session | null =
    body.person === null || body.csrfToken === undefined
      ? null
      : {
          kind: 'cookie',
          csrf: body.csrfToken,
          user: body.person.name ?? 'signed in',
          role: body.person.role,
        };
  return { oidc: body.oidc, session };
}

/** Signs out on the server too (a cookie session ends for good), then forgets it here. */
export async function endSession(session: Session): Promise<void> {
  if (session.kind === 'cookie')
    await fetch('/auth/logout', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'x-vigil-csrf': session.csrf },
    }).catch(() => undefined);
  signOut();
}

/**
 * Starts OpenID Connect sign-in: the provider's pages, then back to the console route asked for.
 * The route is a URL fragment, which browsers never send, so it travels as `return`.
 */
export function signInWithProvider(): void {
  const route = window.location.hash.startsWith('#/') ? window.location.hash : '#/alerts';
  window.location.assign(`/auth/login?return=${encodeURIComponent(route)}`);
}

/**
 * A sign-in link (`/console/#token=...&user=...`, as `vigil demo` prints) hands the token over
 * in the URL fragment, which browsers never send to a server. Move it to sessionStorage and strip
 * it from the address bar and history at once, so it is not bookmarked or shared by accident.
 */
export function takeTokenFromFragment(): void {
  const hash = window.location.hash.replace(/^#/, '');
  if (!hash.startsWith('token=')) return;
  const params = new URLSearchParams(hash);
  const token = params.get('token');
  const user = params.get('user');
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  if (user && USER_PATTERN.test(user)) sessionStorage.setItem(USER_KEY, user);
  window.history.replaceState(null, '', `${window.location.pathname}#/alerts`);
}
