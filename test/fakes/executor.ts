import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call to the fake executor. */
export interface ExecutorCall {
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey: string | null;
  readonly signatureValid: boolean | null;
  readonly body: Record<string, unknown>;
  readonly at: number;
}

/**
 * A remediation system (node:http on 127.0.0.1:0) taking Vigil's signed webhook, Graph-style and
 * Defender-style calls. Like a real one it honours `Idempotency-Key`: the first call with a key
 * is applied, later ones are answered with the same result and not applied again. It counts
 * calls and applications per key, and can be slowed down or made to fail with 503.
 */
export class FakeExecutor {
  readonly calls: ExecutorCall[] = [];
  /** Keys applied, with how many times each was applied (should never pass 1). */
  readonly applied = new Map<string, number>();
  latencyMs = 0;
  private failures = 0;
  private failureStatus = 503;
  private server: Server | null = null;
  private waiters: { match: (call: ExecutorCall) => boolean; resolve: (call: ExecutorCall) => void }[] = [];
  url = '';

  constructor(private readonly secret: string | null = null) {}

  async start(): Promise<this> {
    const server = createServer((request, response) => {
      void this.handle(request).then(({ status, body }) => {
        if (response.destroyed) return;
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
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

  /** The next `count` calls answer `status` (503: retryable; 400: permanent). */
  failNext(count: number, status = 503): void {
    this.failures = count;
    this.failureStatus = status;
  }

  callsWithKey(key: string): ExecutorCall[] {
    return this.calls.filter((call) => call.idempotencyKey === key);
  }

  nextCall(match: (call: ExecutorCall) => boolean): Promise<ExecutorCall> {
    const made = this.calls.find(match);
    if (made !== undefined) return Promise.resolve(made);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  private async handle(request: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    // Vigil's webhook sends Idempotency-Key; Graph and Defender calls carry it as their request IDs.
    const key = (request.headers['idempotency-key'] ??
      request.headers['client-request-id'] ??
      request.headers['x-ms-client-request-id'] ??
      null) as string | null;
    const call: ExecutorCall = {
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      idempotencyKey: key,
      signatureValid: this.verify(request, raw),
      body: raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>),
      at: Date.now(),
    };
    this.calls.push(call);
    for (const waiter of this.waiters.filter((w) => w.match(call))) waiter.resolve(call);
    this.waiters = this.waiters.filter((w) => !w.match(call));
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    if (this.failures > 0) {
      this.failures -= 1;
      return { status: this.failureStatus, body: { error: 'scripted failure' } };
    }
    if (key !== null) {
      if (this.applied.has(key)) return { status: 200, body: { status: 'done', replayed: true } };
      this.applied.set(key, 1);
    }
    if (request.url?.startsWith('/oauth2PermissionGrants?'))
      return { status: 200, body: { value: [{ id: 'grant-1' }] } };
    return { status: 200, body: { status: 'done' } };
  }

  private verify(request: IncomingMessage, raw: string): boolean | null {
    const signature = request.headers['x-vigil-signature'];
    const timestamp = request.headers['x-vigil-timestamp'];
    if (this.secret === null || typeof signature !== 'string' || typeof timestamp !== 'string') return null;
    const expected = `v1=${createHmac('sha256', this.secret).update(`${timestamp}.${raw}`).digest('hex')}`;
    return (
      expected.length === signature.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature))
    );
  }
}
