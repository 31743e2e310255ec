/** Cookies per origin, as a browser keeps them (paths ignored: each side's cookie names differ). */
export class CookieJar {
  private readonly byOrigin = new Map<string, Map<string, string>>();

  store(url: string, response: Response): void {
    const origin = new URL(url).origin;
    const cookies = this.byOrigin.get(origin) ?? new Map<string, string>();
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) cookies.delete(name);
      else cookies.set(name, value);
    }
    this.byOrigin.set(origin, cookies);
  }

  header(url: string): string {
    const cookies = this.byOrigin.get(new URL(url).origin) ?? new Map<string, string>();
    return [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  get(url: string, name: string): string | undefined {
    return this.byOrigin.get(new URL(url).origin)?.get(name);
  }
}

/** One request with the jar's cookies, not following redirects. */
export async function visit(
  jar: CookieJar,
  url: string,
  init: { method?: string; form?: Record<string, string> } = {},
): Promise<Response> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    redirect: 'manual',
    headers: {
      cookie: jar.header(url),
      ...(init.form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
    },
    ...(init.form === undefined ? {} : { body: new URLSearchParams(init.form).toString() }),
  });
  jar.store(url, response);
  return response;
}

/**
 * Signs in to Vigil's console through the provider's own pages, as a browser would: follows every
 * redirect with the cookie jar, and fills in the provider's login form (as `login`) and consent
 * form. Returns Vigil's last answer (its redirect into the console).
 */
export const signInThroughProvider = (
  jar: CookieJar,
  vigilUrl: string,
  login: string,
  returnRoute?: string,
): Promise<Response> =>
  followSignIn(
    jar,
    vigilUrl,
    `${vigilUrl}/auth/login${returnRoute === undefined ? '' : `?return=${encodeURIComponent(returnRoute)}`}`,
    login,
  );

/**
 * Follows a sign-in from `start` (a link such as `vigil demo` prints) through the provider, filling
 * in any form it shows as `login`, until Vigil's callback answers; returns that answer.
 */
export async function followSignIn(
  jar: CookieJar,
  vigilUrl: string,
  start: string,
  login: string,
): Promise<Response> {
  let url = start;
  let response = await visit(jar, url);
  for (let step = 0; step < 20; step += 1) {
    if (url.startsWith(`${vigilUrl}/auth/callback`)) return response;
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      url = new URL(location, url).href;
      response = await visit(jar, url);
      continue;
    }
    const html = await response.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (response.status !== 200 || action === undefined || prompt === undefined)
      throw new Error(`unexpected answer ${response.status} at ${url}: ${html.slice(0, 300)}`);
    url = new URL(action.replace(/&amp;/g, '&'), url).href;
    response = await visit(jar, url, {
      method: 'POST',
      form: prompt === 'login' ? { prompt, login, password: 'any' } : { prompt },
    });
  }
  throw new Error('sign-in did not come back to Vigil within 20 steps');
}
