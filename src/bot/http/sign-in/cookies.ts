/** The cookie of a console session (HttpOnly: scripts never see it). */
export const SESSION_COOKIE = 'vigil_session';
/** The cookie binding a sign-in under way to the browser that started it. */
export const LOGIN_COOKIE = 'vigil_login';

/** The value of one cookie in a `Cookie` header, if sent. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/**
 * A `Set-Cookie` value: HttpOnly and SameSite=Lax always (a card link clicked in Slack or Teams
 * is a top-level navigation, which Lax lets through; cross-site requests carry no cookie), Secure
 * when Vigil is reached over HTTPS. Values are our own base64url strings: nothing to escape.
 */
export function cookie(
  name: string,
  value: string,
  options: { readonly path: string; readonly maxAgeSeconds: number; readonly secure: boolean },
): string {
  return [
    `${name}=${value}`,
    `Path=${options.path}`,
    `Max-Age=${options.maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}
