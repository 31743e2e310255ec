/**
 * Who is signed in: the API token (which alone decides who acts) and a name shown on the page.
 * Kept in sessionStorage, so they last as long as the tab and are never sent as cookies: every
 * API call carries them as headers, which is also why the console needs no CSRF token.
 */
export interface Session {
  readonly token: string;
  readonly user: string;
}

const TOKEN_KEY = 'vigil.token';
const USER_KEY = 'vigil.user';

/** The names the sign-in page accepts for display. */
export const USER_PATTERN = /^[\w.@:-]{1,100}$/;

export function loadSession(): Session | null {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const user = sessionStorage.getItem(USER_KEY);
  return token && user ? { token, user } : null;
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(TOKEN_KEY, session.token);
  sessionStorage.setItem(USER_KEY, session.user);
}

export function pendingToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
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
