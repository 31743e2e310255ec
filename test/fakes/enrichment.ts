import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One lookup as the fake received it. */
export interface LookupCall {
  readonly path: string;
  readonly kind: string;
  readonly key: string;
  readonly authorization: string | null;
  readonly at: number;
}

/** How the fake answers one entity (`kind:key`) or every entity. */
export interface LookupBehaviour {
  readonly verdict?: string;
  readonly reason?: string;
  /** Milliseconds before answering (a slow or timing-out service). */
  readonly latencyMs?: number;
  /** Answer something that is not JSON. */
  readonly garbage?: boolean;
  /** Answer with this HTTP status and no usable body. */
  readonly status?: number;
}

/**
 * A local threat-intelligence service (node:http on 127.0.0.1:0) for the http enrichment step:
 * `GET /lookup/{kind}/{key}` answers `{ "data": { "verdict": ..., "reason": ... } }`, with
 * latency, garbage and error statuses configurable per entity, and every call recorded.
 */
export class FakeEnrichment {
  readonly calls: LookupCall[] = [];
  readonly behaviours = new Map<string, LookupBehaviour>();
  defaults: LookupBehaviour = { verdict: 'clean', reason: 'nothing known' };
  private server: Server | null = null;
  private waiters: { match: (call: LookupCall) => boolean; resolve: (call: LookupCall) => void }[] = [];
  url = '';

  async start(): Promise<this> {
    const server = createServer((request, response) => {
      void this.handle(request).then(({ status, body }) => {
        if (response.destroyed) return;
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(body);
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** Resolves with the first call (already made or to come) that `match` accepts. */
  nextCall(match: (call: LookupCall) => boolean): Promise<LookupCall> {
    const made = this.calls.find(match);
    if (made !== undefined) return Promise.resolve(made);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  callsFor(kind: string, key: string): LookupCall[] {
    return this.calls.filter((call) => call.kind === kind && call.key === key);
  }

  private async handle(request: IncomingMessage): Promise<{ status: number; body: string }> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const [, route, kind = '', key = ''] = url.pathname.split('/').map(decodeURIComponent);
    if (route !== 'lookup') return { status: 404, body: '{}' };
    const call: LookupCall = {
      path: url.pathname,
      kind,
      key,
      authorization: request.headers.authorization ?? null,
      at: Date.now(),
    };
    this.calls.push(call);
    for (const waiter of this.waiters.filter((w) => w.match(call))) waiter.resolve(call);
    this.waiters = this.waiters.filter((w) => !w.match(call));
    const behaviour = { ...this.defaults, ...this.behaviours.get(`${kind}:${key}`) };
    if (behaviour.latencyMs !== undefined)
      await new Promise((resolve) => setTimeout(resolve, behaviour.latencyMs));
    if (behaviour.garbage) return { status: 200, body: '<html>surprise</html>' };
    if (behaviour.status !== undefined) return { status: behaviour.status, body: '{"error":"scripted"}' };
    return {
      status: 200,
      body: JSON.stringify({ data: { verdict: behaviour.verdict, reason: behaviour.reason } }),
    };
  }
}
