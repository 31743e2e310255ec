import { loadSession, type Session, signOut } from './session';

/** An answer other than 2xx: the API's stable error code and its sentence for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The route does not exist on this Vigil (a feature another release adds). */
  get notAvailable(): boolean {
    return this.status === 404 && this.code === 'route.not_found';
  }
}

/** Called when the API refuses the token or session, so the app can show the sign-in page again. */
let onUnauthorized: (refused: Session['kind']) => void = () => {};
export const setUnauthorizedHandler = (handler: (refused: Session['kind']) => void): void => {
  onUnauthorized = handler;
};

/** Who the call is from: the bearer token, or the session cookie with its CSRF token. */
function credentials(json: boolean): { headers: Record<string, string>; credentials: RequestCredentials } {
  const session = loadSession();
  if (session === null) throw new ApiError(401, 'auth.unauthorized', 'Not signed in.');
  const type = json ? { 'content-type': 'application/json' } : {};
  return session.kind === 'token'
    ? // The token alone says who acts: a personal token is its person, VIGIL_API_TOKEN the API service.
      { headers: { authorization: `Bearer ${session.token}`, ...type }, credentials: 'omit' }
    : { headers: { 'x-vigil-csrf': session.csrf, ...type }, credentials: 'same-origin' };
}

async function fail(response: Response): Promise<never> {
  let code = 'http.error';
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // Not JSON (a proxy's error page): keep the status line.
  }
  const refused = loadSession()?.kind;
  // Only the first of several calls refused together signs out: the later ones find no session,
  // and telling the app again would replace why with a wrong reason.
  if (response.status === 401 && refused !== undefined) {
    signOut();
    onUnauthorized(refused);
  }
  throw new ApiError(response.status, code, message);
}

/**
 * One call to Vigil's API as the signed-in person. Another site cannot forge one: it has neither
 * the token nor the session's CSRF token, and a cross-origin request with either header needs a
 * CORS preflight Vigil never grants.
 */
export async function api<T>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(path, {
    method,
    ...credentials(body !== undefined),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) return fail(response);
  // 204 (a delete) has no body.
  return (response.status === 204 ? null : await response.json()) as T;
}

/** Fetches a file from the API (with the token) and hands it to the browser as a download. */
export async function download(path: string, filename: string): Promise<void> {
  const response = await fetch(path, credentials(false));
  if (!response.ok) return fail(response);
  const url = URL.createObjectURL(await response.blob());
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = filename;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  // Let the download start before the object URL goes.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const describe = (error: unknown): string =>
  error instanceof Error ? error.message : 'Something went wrong.';
