import { loadSession, signOut } from './session';

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

/** Called when the API refuses the token, so the app can show the sign-in page again. */
let onUnauthorized: () => void = () => {};
export const setUnauthorizedHandler = (handler: () => void): void => {
  onUnauthorized = handler;
};

function headers(json: boolean): Record<string, string> {
  const session = loadSession();
  if (session === null) throw new ApiError(401, 'auth.unauthorized', 'Not signed in.');
  return {
    // The token alone says who acts: a personal token is its person, VIGIL_API_TOKEN the API service.
    authorization: `Bearer ${session.token}`,
    ...(json ? { 'content-type': 'application/json' } : {}),
  };
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
  if (response.status === 401) {
    signOut();
    onUnauthorized();
  }
  throw new ApiError(response.status, code, message);
}

/**
 * One call to Vigil's API with the signed-in token. State changes are JSON bodies with a bearer
 * header and no cookies: another site cannot forge them (it has no token, and a cross-origin
 * JSON POST with an Authorization header needs a CORS preflight Vigil never grants).
 */
export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: headers(body !== undefined),
    credentials: 'omit',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) return fail(response);
  return (await response.json()) as T;
}

/** Fetches a file from the API (with the token) and hands it to the browser as a download. */
export async function download(path: string, filename: string): Promise<void> {
  const response = await fetch(path, { headers: headers(false), credentials: 'omit' });
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
