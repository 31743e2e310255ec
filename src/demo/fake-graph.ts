import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FakeEntraToken, fakeTokenClaims } from './fake-entra.js';

/** One call to the fake Graph. */
export interface GraphCall {
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly status: number;
  readonly body: unknown;
  /** performance.now() when the request arrived. */
  readonly at: number;
}

export const GRAPH_AUDIENCE = 'https://graph.microsoft.com';

type Json = Record<string, unknown>;
type Since = { readonly at: number; readonly strict: boolean };

/** Whether an item was updated in the filter's window; malformed items without a readable time are served anyway (the client must cope with them). */
function updatedSince(item: unknown, since: Since | null): boolean {
  if (since === null) return true;
  const updated =
    typeof item === 'object' && item !== null
      ? Date.parse(String((item as Json).lastUpdateDateTime))
      : Number.NaN;
  if (Number.isNaN(updated)) return true;
  return since.strict ? updated > since.at : updated >= since.at;
}

const graphError = (code: string, message: string) => ({
  error: { code, message, innerError: { date: new Date().toISOString(), 'request-id': 'fake' } },
});

/** A Graph alerts_v2 status/classification as the API accepts them (camelCase enums; `unknownFutureValue` included). */
const STATUSES = ['unknown', 'new', 'inProgress', 'resolved', 'unknownFutureValue'];
/** Graph's incident statuses (`microsoft.graph.security.incidentStatus`). */
const INCIDENT_STATUSES = [
  'active',
  'resolved',
  'inProgress',
  'redirected',
  'unknownFutureValue',
  'awaitingAction',
];
/** `microsoft.graph.security.alertDetermination`, shared by alerts and incidents. */
const DETERMINATIONS = [
  'unknown',
  'apt',
  'malware',
  'securityPersonnel',
  'securityTesting',
  'unwantedSoftware',
  'other',
  'multiStagedAttack',
  'compromisedAccount',
  'phishing',
  'maliciousUserActivity',
  'notMalicious',
  'notEnoughDataToValidate',
  'confirmedActivity',
  'lineOfBusinessApplication',
  'unknownFutureValue',
];
const CLASSIFICATIONS = [
  'unknown',
  'falsePositive',
  'truePositive',
  'informationalExpectedActivity',
  'unknownFutureValue',
];

/**
 * Microsoft Graph v1.0 as far as Vigil uses it (the tests' fake, and `vigil demo`'s simulated Defender), written from the API reference and the recorded
 * payloads in test/fixtures/alerts/graph-security:
 * - `GET /security/alerts_v2` with `$filter=lastUpdateDateTime ge <ISO time>` (also `gt`), `$top`
 *   (at most 2,000), `$skip` and `$count`; no `$orderby` (400, as Graph answers); pages end with
 *   `@odata.nextLink` (a full URL carrying `$skip`) while more remain;
 * - `GET|PATCH /security/alerts_v2/{id}` (status, classification, determination, assignedTo,
 *   customDetails; each change moves `lastUpdateDateTime`), `POST /security/alerts_v2/{id}/comments`
 *   (answers the alert's whole comment collection);
 * - `GET /security/incidents` with `$filter=lastUpdateDateTime ge|gt`, `$top`/`$skip` paging and
 *   `$expand=alerts` (an incident's alerts are those whose `incidentId` is its ID);
 *   `GET|PATCH /security/incidents/{id}` (status, classification, determination, assignedTo,
 *   customTags, resolvingComment...; each change moves `lastUpdateDateTime`);
 * - the identity calls the Graph executor makes (revokeSignInSessions, PATCH user,
 *   oauth2PermissionGrants);
 * - 401 `InvalidAuthenticationToken` for a missing, foreign or expired token, 403 for a token
 *   without the application permission, and 429 with Retry-After when told to.
 * Alerts are listed in the order they were added (Graph gives no order without `$orderby`).
 */
export class FakeGraph {
  readonly calls: GraphCall[] = [];
  /** Alerts by ID, in insertion order; a value that is not an object is a malformed item served as is. */
  readonly alerts = new Map<string, Json>();
  readonly incidents = new Map<string, Json>();
  /** Page size when the client gives no `$top`. */
  defaultPageSize = 2_000;
  #throttle = { count: 0, retryAfter: '1', match: (_url: string, _method: string) => true };
  #server: Server | null = null;
  #raw: unknown[] = [];
  url = '';
  /** Called after a client changed an alert or an incident (the demo keeps its simulated Defender on disk). */
  onChange: (() => void) | null = null;

  /** With a fake token endpoint, tokens are checked like Graph does; else `staticToken` is the one accepted. */
  constructor(private readonly auth: { entra?: FakeEntraToken; staticToken?: string } = {}) {}

  async start(): Promise<this> {
    const server = createServer((request, response) => {
      void this.#handle(request, response);
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1.0`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }

  /** Adds or replaces an alert as Defender would: its `lastUpdateDateTime` is now (or `at`). */
  putAlert(alert: Json, at: Date = new Date()): Json {
    const stored = { ...alert, lastUpdateDateTime: at.toISOString() };
    this.alerts.set(String(alert.id), stored);
    return stored;
  }

  /** A change made in Defender's portal: fields merged, `lastUpdateDateTime` moved to now. */
  changeAlert(id: string, fields: Json): Json {
    const current = this.alerts.get(id);
    if (current === undefined) throw new Error(`no alert ${id}`);
    const next = { ...current, ...fields, lastUpdateDateTime: new Date().toISOString() };
    this.alerts.set(id, next);
    return next;
  }

  /** Adds or replaces an incident as Defender would: its `lastUpdateDateTime` is now (or `at`). */
  putIncident(incident: Json, at: Date = new Date()): Json {
    const stored = { ...incident, lastUpdateDateTime: at.toISOString() };
    this.incidents.set(String(incident.id), stored);
    return stored;
  }

  /** Serves `item` verbatim in alert lists (malformed data, as a broken connector might return). */
  putRawItem(item: unknown): void {
    this.#raw.push(item);
  }

  /** The next `count` requests matching `match` answer 429 with `Retry-After: seconds`. */
  throttleNext(
    count: number,
    seconds = 1,
    match: (url: string, method: string) => boolean = () => true,
  ): void {
    this.#throttle = { count, retryAfter: String(seconds), match };
  }

  callsTo(method: string, path: RegExp): GraphCall[] {
    return this.calls.filter((call) => call.method === method && path.test(call.url));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = null;
    try {
      body = text === '' ? null : (JSON.parse(text) as unknown);
    } catch {
      body = text;
    }
    const at = performance.now();
    const method = request.method ?? 'GET';
    const rawUrl = request.url ?? '/';
    const send = (status: number, answer: unknown, headers: Record<string, string> = {}) => {
      this.calls.push({ method, url: rawUrl, status, body, at });
      response.writeHead(status, {
        ...(answer === undefined ? {} : { 'content-type': 'application/json; odata.metadata=minimal' }),
        ...headers,
      });
      response.end(answer === undefined ? undefined : JSON.stringify(answer));
    };
    const url = new URL(rawUrl, 'http://graph.local');
    const path = url.pathname.replace(/^\/v1\.0/, '');

    const authorization = request.headers.authorization;
    const valid =
      this.auth.entra !== undefined
        ? this.auth.entra.isValid(authorization, GRAPH_AUDIENCE)
        : authorization === `Bearer ${this.auth.staticToken ?? ''}`;
    if (!valid)
      return send(
        401,
        graphError('InvalidAuthenticationToken', 'Access token has expired or is not yet valid.'),
        { 'www-authenticate': 'Bearer realm=""' },
      );
    const roles = this.auth.entra === undefined ? null : (fakeTokenClaims(authorization)?.roles ?? []);
    const needs = (...anyOf: string[]) => roles === null || anyOf.some((role) => roles.includes(role));
    const forbidden = () =>
      send(403, graphError('Forbidden', 'Missing application roles. API required roles were not granted.'));

    if (this.#throttle.count > 0 && this.#throttle.match(rawUrl, method)) {
      this.#throttle.count -= 1;
      return send(429, graphError('TooManyRequests', 'Too many requests.'), {
        'retry-after': this.#throttle.retryAfter,
      });
    }

    if (method === 'GET' && path === '/security/alerts_v2') {
      if (!needs('SecurityAlert.Read.All', 'SecurityAlert.ReadWrite.All')) return forbidden();
      return this.#list(url, send);
    }
    if (method === 'GET' && path === '/security/incidents') {
      if (!needs('SecurityIncident.Read.All', 'SecurityIncident.ReadWrite.All')) return forbidden();
      const since = this.#since(url, send);
      if (since === undefined) return;
      const expand = url.searchParams.get('$expand') === 'alerts';
      const items = [...this.incidents.values()].filter((incident) => updatedSince(incident, since));
      return this.#page(url, items, send, (page) =>
        expand ? page.map((incident) => this.#withAlerts(incident as Json)) : page,
      );
    }
    const incidentPath = /^\/security\/incidents\/([^/]+)$/.exec(path);
    if (incidentPath !== null) {
      const id = decodeURIComponent(incidentPath[1] ?? '');
      const incident = this.incidents.get(id);
      if (incident === undefined) return send(404, graphError('NotFound', `Incident ${id} was not found.`));
      if (method === 'GET') {
        if (!needs('SecurityIncident.Read.All', 'SecurityIncident.ReadWrite.All')) return forbidden();
        return send(200, incident);
      }
      if (!needs('SecurityIncident.ReadWrite.All')) return forbidden();
      if (method === 'PATCH') return this.#patchIncident(id, incident, body, send);
    }
    const alertPath = /^\/security\/alerts_v2\/([^/]+)(\/comments)?$/.exec(path);
    if (alertPath !== null) {
      const id = decodeURIComponent(alertPath[1] ?? '');
      const alert = this.alerts.get(id);
      if (alert === undefined) return send(404, graphError('NotFound', `Alert ${id} was not found.`));
      if (method === 'GET' && alertPath[2] === undefined) {
        if (!needs('SecurityAlert.Read.All', 'SecurityAlert.ReadWrite.All')) return forbidden();
        return send(200, alert);
      }
      if (!needs('SecurityAlert.ReadWrite.All')) return forbidden();
      if (method === 'PATCH' && alertPath[2] === undefined) return this.#patchAlert(id, alert, body, send);
      if (method === 'POST' && alertPath[2] !== undefined) return this.#comment(id, alert, body, send);
    }
    if (method === 'POST' && /^\/users\/[^/]+\/revokeSignInSessions$/.test(path))
      return send(200, { '@odata.context': `${this.url}/$metadata#Edm.Boolean`, value: true });
    if (method === 'PATCH' && /^\/users\/[^/]+$/.test(path)) return send(204, undefined);
    if (method === 'GET' && path === '/oauth2PermissionGrants')
      return send(200, { value: [{ id: 'grant-1', clientId: 'app', consentType: 'AllPrincipals' }] });
    if (method === 'DELETE' && /^\/oauth2PermissionGrants\/[^/]+$/.test(path)) return send(204, undefined);
    return send(400, graphError('BadRequest', `Resource not found for the segment '${path}'.`));
  }

  #list(url: URL, send: (status: number, answer: unknown) => void) {
    if (url.searchParams.has('$orderby'))
      return send(400, graphError('BadRequest', "Query option '$orderby' is not allowed."));
    const since = this.#since(url, send);
    if (since === undefined) return;
    const items = [...this.alerts.values(), ...this.#raw].filter((item) => updatedSince(item, since));
    this.#page(url, items, send, (page) => page);
  }

  /** The `$filter=lastUpdateDateTime ge|gt <time>` asked for (null: none); undefined once a 400 is sent. */
  #since(url: URL, send: (status: number, answer: unknown) => void): Since | null | undefined {
    const filter = url.searchParams.get('$filter');
    if (filter === null) return null;
    const match = /^lastUpdateDateTime (ge|gt) (\d{4}-\d{2}-\d{2}T[0-9:.]+Z)$/.exec(filter.trim());
    const at = match === null ? Number.NaN : Date.parse(match[2] ?? '');
    if (match === null || Number.isNaN(at)) {
      send(400, graphError('BadRequest', `Invalid filter clause: ${filter}`));
      return undefined;
    }
    return { at, strict: match[1] === 'gt' };
  }

  #withAlerts(incident: Json): Json {
    const alerts = [...this.alerts.values()].filter(
      (alert) => String(alert.incidentId) === String(incident.id),
    );
    return { ...incident, alerts };
  }

  #patchIncident(id: string, incident: Json, body: unknown, send: (status: number, answer: unknown) => void) {
    if (typeof body !== 'object' || body === null) return send(400, graphError('BadRequest', 'Empty body.'));
    const change = body as Json;
    if (change.status !== undefined && !INCIDENT_STATUSES.includes(String(change.status)))
      return send(400, graphError('BadRequest', `Invalid status ${String(change.status)}.`));
    if (change.classification !== undefined && !CLASSIFICATIONS.includes(String(change.classification)))
      return send(400, graphError('BadRequest', `Invalid classification ${String(change.classification)}.`));
    if (change.determination !== undefined && !DETERMINATIONS.includes(String(change.determination)))
      return send(400, graphError('BadRequest', `Invalid determination ${String(change.determination)}.`));
    const allowed = [
      'status',
      'classification',
      'determination',
      'assignedTo',
      'customTags',
      'description',
      'displayName',
      'resolvingComment',
      'severity',
      'summary',
    ];
    const unknown = Object.keys(change).filter((key) => !allowed.includes(key) && !key.startsWith('@odata'));
    if (unknown.length > 0)
      return send(400, graphError('BadRequest', `Property ${unknown[0]} cannot be updated.`));
    const next: Json = {
      ...incident,
      ...Object.fromEntries(allowed.filter((key) => key in change).map((key) => [key, change[key]])),
      lastUpdateDateTime: new Date().toISOString(),
    };
    this.incidents.set(id, next);
    this.onChange?.();
    send(200, { '@odata.context': `${this.url}/$metadata#security/incidents/$entity`, ...next });
  }

  #page(
    url: URL,
    items: readonly unknown[],
    send: (status: number, answer: unknown) => void,
    shape: (page: unknown[]) => unknown[],
  ) {
    const top = Number(url.searchParams.get('$top') ?? this.defaultPageSize);
    const skip = Number(url.searchParams.get('$skip') ?? 0);
    if (!Number.isInteger(top) || top < 1 || top > 2_000)
      return send(400, graphError('BadRequest', 'The $top value must be between 1 and 2000.'));
    if (!Number.isInteger(skip) || skip < 0) return send(400, graphError('BadRequest', 'Invalid $skip.'));
    const page = items.slice(skip, skip + top);
    const answer: Json = {
      '@odata.context': `${this.url}/$metadata#security/alerts_v2`,
      ...(url.searchParams.get('$count') === 'true' ? { '@odata.count': items.length } : {}),
      value: shape(page),
    };
    if (skip + top < items.length) {
      const next = new URL(url.toString());
      next.searchParams.set('$top', String(top));
      next.searchParams.set('$skip', String(skip + top));
      answer['@odata.nextLink'] = `${this.url}${next.pathname.replace(/^\/v1\.0/, '')}${next.search}`;
    }
    send(200, answer);
  }

  #patchAlert(id: string, alert: Json, body: unknown, send: (status: number, answer: unknown) => void) {
    if (typeof body !== 'object' || body === null) return send(400, graphError('BadRequest', 'Empty body.'));
    const change = body as Json;
    if (change.status !== undefined && !STATUSES.includes(String(change.status)))
      return send(400, graphError('BadRequest', `Invalid status ${String(change.status)}.`));
    if (change.classification !== undefined && !CLASSIFICATIONS.includes(String(change.classification)))
      return send(400, graphError('BadRequest', `Invalid classification ${String(change.classification)}.`));
    if (change.determination !== undefined && !DETERMINATIONS.includes(String(change.determination)))
      return send(400, graphError('BadRequest', `Invalid determination ${String(change.determination)}.`));
    const allowed = ['status', 'classification', 'determination', 'assignedTo', 'customDetails'];
    const unknown = Object.keys(change).filter((key) => !allowed.includes(key) && !key.startsWith('@odata'));
    if (unknown.length > 0)
      return send(400, graphError('BadRequest', `Property ${unknown[0]} cannot be updated.`));
    const now = new Date().toISOString();
    const next: Json = {
      ...alert,
      ...Object.fromEntries(allowed.filter((key) => key in change).map((key) => [key, change[key]])),
      lastUpdateDateTime: now,
      ...(change.status === 'resolved' && alert.status !== 'resolved' ? { resolvedDateTime: now } : {}),
      ...(change.status !== undefined && change.status !== 'resolved' ? { resolvedDateTime: null } : {}),
    };
    this.alerts.set(id, next);
    this.onChange?.();
    send(200, { '@odata.context': `${this.url}/$metadata#security/alerts_v2/$entity`, ...next });
  }

  #comment(id: string, alert: Json, body: unknown, send: (status: number, answer: unknown) => void) {
    const comment = typeof body === 'object' && body !== null ? (body as Json).comment : undefined;
    if (typeof comment !== 'string' || comment === '')
      return send(400, graphError('BadRequest', 'The comment is required.'));
    const now = new Date().toISOString();
    const comments = [
      ...((alert.comments as Json[] | undefined) ?? []),
      { comment, createdByDisplayName: 'Vigil (application)', createdDateTime: now },
    ];
    this.alerts.set(id, { ...alert, comments, lastUpdateDateTime: now });
    this.onChange?.();
    send(200, {
      '@odata.context': `${this.url}/$metadata#Collection(microsoft.graph.security.alertComment)`,
      value: comments,
    });
  }
}
