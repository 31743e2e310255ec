import { constants, createHash, verify, type X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request to the fake token endpoint. */
export interface TokenRequest {
  readonly tenant: string;
  readonly clientId: string;
  readonly scope: string;
  readonly status: number;
  /** The client assertion's header and claims, when the client signed in with a certificate. */
  readonly assertion: { readonly header: Json; readonly claims: Json } | null;
}

type Json = Record<string, unknown>;

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Clock skew Entra ID allows on an assertion's nbf and exp. */
const SKEW_S = 300;

/** A JWT's header, claims and signed part, or null when it is not one. */
function decodeJwt(jwt: string): { header: Json; claims: Json; signed: string; signature: Buffer } | null {
  const [header, claims, signature, extra] = jwt.split('.');
  if (header === undefined || claims === undefined || signature === undefined || extra !== undefined)
    return null;
  try {
    const read = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    const [h, c] = [read(header), read(claims)];
    if (typeof h !== 'object' || h === null || typeof c !== 'object' || c === null) return null;
    return {
      header: h as Json,
      claims: c as Json,
      signed: `${header}.${claims}`,
      signature: Buffer.from(signature, 'base64url'),
    };
  } catch {
    return null;
  }
}

/** Claims of a token issued by a fake: what the fake APIs check. */
export interface FakeTokenClaims {
  readonly aud: string;
  readonly tid: string;
  readonly appid: string;
  readonly roles: readonly string[];
  readonly exp: number;
  readonly iat: number;
  readonly uti: string;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Reads a fake token's claims (no signature: a test fake vouches for nothing). */
export function fakeTokenClaims(authorization: string | undefined): FakeTokenClaims | null {
  const token = authorization?.replace(/^Bearer /i, '');
  const payload = token?.split('.')[1];
  if (payload === undefined) return null;
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as FakeTokenClaims;
  } catch {
    return null;
  }
}

/**
 * Microsoft Entra ID's v2.0 token endpoint for the client credentials grant, as documented
 * ("Microsoft identity platform and the OAuth 2.0 client credentials flow"): `POST
 * /{tenant}/oauth2/v2.0/token` with a form body (grant_type, client_id, client_secret,
 * scope=<resource>/.default); 200 `{token_type, expires_in, ext_expires_in, access_token}`; 400
 * `{error, error_description, error_codes, ...}` for a bad request or scope, 401 `invalid_client`
 * for a wrong secret. Certificate credentials ("Microsoft identity platform application
 * authentication certificate credentials"): `client_assertion_type` jwt-bearer and a
 * `client_assertion` JWT signed RS256 or PS256 by a certificate registered on the app (found by
 * its `x5t#S256` or `x5t` header), with `aud` the token endpoint, `iss` and `sub` the client ID,
 * a `jti`, and `nbf`/`exp` around now (five minutes' skew); anything else is 401 `invalid_client`. Tokens are JWT-shaped with `aud` (the resource), `tid`, `appid`, `roles`
 * (the application permissions granted to the app for that resource) and `exp`. It can be told to
 * fail with 429/503 (with Retry-After) and to issue tokens that expire early.
 */
export class FakeEntraToken {
  readonly requests: TokenRequest[] = [];
  /** Application permissions granted per resource (`https://graph.microsoft.com`). */
  readonly roles = new Map<string, string[]>();
  /** Certificates registered on the app (Certificates & secrets): assertions they sign are accepted. */
  readonly certificates: X509Certificate[] = [];
  /** Lifetime of the tokens issued (`expires_in`). */
  lifetimeSeconds = 3599;
  /** Tokens with this serial or lower are refused by the fake APIs, whatever their `exp` ("revoked"). */
  #revokedUpTo = 0;
  #failures: { count: number; status: number; retryAfter: string | null } = {
    count: 0,
    status: 503,
    retryAfter: null,
  };
  #server: Server | null = null;
  #serial = 0;
  url = '';

  constructor(
    readonly tenantId = '11111111-2222-3333-4444-555555555555',
    readonly clientId = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
    readonly clientSecret = 'fake-client-secret-value',
  ) {}

  async start(): Promise<this> {
    const server = createServer((request, response) => {
      void this.#handle(request, response);
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }

  /** The next `count` token requests answer `status` (429 or 503), with Retry-After seconds when given. */
  failNext(count: number, status = 503, retryAfterSeconds?: number): void {
    this.#failures = {
      count,
      status,
      retryAfter: retryAfterSeconds === undefined ? null : String(retryAfterSeconds),
    };
  }

  /** Every token issued so far is treated as expired by the fake APIs (as after a key rollover). */
  expireIssuedTokens(): void {
    this.#revokedUpTo = this.#serial;
  }

  /** Is this token one of ours, for this resource, and still valid? What a resource server checks. */
  isValid(authorization: string | undefined, audience: string): boolean {
    const claims = fakeTokenClaims(authorization);
    return (
      claims !== null &&
      claims.aud === audience &&
      claims.tid === this.tenantId &&
      claims.exp * 1000 > Date.now() &&
      Number(String(claims.uti).replace('fake-', '')) > this.#revokedUpTo
    );
  }

  issuedFor(scope: string): TokenRequest[] {
    return this.requests.filter((request) => request.scope === scope && request.status === 200);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const tenant = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(request.url ?? '')?.[1] ?? '';
    const scope = form.get('scope') ?? '';
    const jwt = form.has('client_assertion') ? decodeJwt(form.get('client_assertion') ?? '') : null;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      this.requests.push({
        tenant,
        clientId: form.get('client_id') ?? '',
        scope,
        status,
        assertion: jwt === null ? null : { header: jwt.header, claims: jwt.claims },
      });
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      response.end(JSON.stringify(body));
    };
    const error = (status: number, code: string, description: string) =>
      send(status, {
        error: code,
        error_description: `${description}\r\nTrace ID: 0000\r\nTimestamp: ${new Date().toISOString()}`,
        error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)],
        timestamp: new Date().toISOString(),
      });
    if (request.method !== 'POST' || tenant === '') return error(404, 'not_found', 'No such endpoint.');
    if (this.#failures.count > 0) {
      this.#failures.count -= 1;
      return send(
        this.#failures.status,
        { error: 'temporarily_unavailable', error_description: 'AADSTS50196: The server is busy.' },
        this.#failures.retryAfter === null ? {} : { 'retry-after': this.#failures.retryAfter },
      );
    }
    if (tenant !== this.tenantId)
      return error(400, 'invalid_request', `AADSTS90002: Tenant '${tenant}' not found.`);
    if (form.get('grant_type') !== 'client_credentials')
      return error(
        400,
        'unsupported_grant_type',
        'AADSTS70003: The app requested an unsupported grant type.',
      );
    if (form.get('client_id') !== this.clientId)
      return error(400, 'unauthorized_client', `AADSTS700016: Application with identifier was not found.`);
    if (form.has('client_assertion') || form.has('client_assertion_type')) {
      const refused = this.#assertionRefused(form, `${this.url}${request.url ?? ''}`, jwt);
      if (refused !== null) return error(refused.status, refused.code, refused.description);
    } else if (form.get('client_secret') !== this.clientSecret)
      return error(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
    if (!scope.endsWith('/.default'))
      return error(400, 'invalid_scope', 'AADSTS1002012: The provided value for scope is not valid.');
    const audience = scope.slice(0, -'/.default'.length);
    return this.#issue(audience, send);
  }

  /** Why a certificate credential is refused, as Entra ID says it; null when it is good. */
  #assertionRefused(
    form: URLSearchParams,
    endpoint: string,
    jwt: ReturnType<typeof decodeJwt>,
  ): { status: number; code: string; description: string } | null {
    const invalid = (description: string) => ({ status: 401, code: 'invalid_client', description });
    if (form.get('client_assertion_type') !== JWT_BEARER)
      return {
        status: 400,
        code: 'invalid_request',
        description: `AADSTS50027: Invalid client_assertion_type. It must be ${JWT_BEARER}.`,
      };
    if (jwt === null) return invalid('AADSTS50027: JWT token is invalid or malformed.');
    const { header, claims } = jwt;
    const thumbprint = (certificate: X509Certificate, algorithm: string) =>
      createHash(algorithm).update(certificate.raw).digest('base64url');
    const certificate = this.certificates.find(
      (candidate) =>
        (header['x5t#S256'] !== undefined && header['x5t#S256'] === thumbprint(candidate, 'sha256')) ||
        (header['x5t#S256'] === undefined && header.x5t === thumbprint(candidate, 'sha1')),
    );
    if (certificate === undefined)
      return invalid(
        `AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${String(header['x5t#S256'] ?? header.x5t ?? '')}']`,
      );
    const options =
      header.alg === 'PS256'
        ? { key: certificate.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
        : header.alg === 'RS256'
          ? { key: certificate.publicKey }
          : null;
    if (options === null || !verify('sha256', Buffer.from(jwt.signed), options, jwt.signature))
      return invalid('AADSTS700027: Client assertion failed signature validation.');
    const clientId = form.get('client_id');
    if (claims.iss !== clientId || claims.sub !== clientId)
      return invalid(
        "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter.",
      );
    if (claims.aud !== endpoint)
      return invalid(
        `AADSTS50027: JWT token is invalid or malformed: audience '${String(claims.aud)}' is not this token endpoint.`,
      );
    if (typeof claims.jti !== 'string' || claims.jti === '')
      return invalid('AADSTS50027: JWT token is invalid or malformed (no jti).');
    const now = Math.floor(Date.now() / 1000);
    if (
      typeof claims.exp !== 'number' ||
      claims.exp + SKEW_S < now ||
      (typeof claims.nbf === 'number' && claims.nbf - SKEW_S > now)
    )
      return invalid('AADSTS700024: Client assertion is not within its valid time range.');
    return null;
  }

  #issue(audience: string, send: (status: number, body: unknown) => void): void {
    const now = Math.floor(Date.now() / 1000);
    this.#serial += 1;
    const claims: FakeTokenClaims & Record<string, unknown> = {
      aud: audience,
      iss: `https://sts.windows.net/${this.tenantId}/`,
      tid: this.tenantId,
      appid: this.clientId,
      roles: this.roles.get(audience) ?? [],
      iat: now,
      nbf: now,
      exp: now + this.lifetimeSeconds,
      uti: `fake-${this.#serial}`,
    };
    const token = `${b64({ typ: 'JWT', alg: 'RS256', kid: 'fake' })}.${b64(claims)}.fake-signature`;
    send(200, {
      token_type: 'Bearer',
      expires_in: this.lifetimeSeconds,
      ext_expires_in: this.lifetimeSeconds,
      access_token: token,
    });
  }
}
