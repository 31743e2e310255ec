import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FakeServiceNowRecord {
  readonly sys_id: string;
  readonly number: string;
  state: string;
  readonly fields: Record<string, unknown>;
  readonly workNotes: string[];
}

/**
 * A local stand-in for the ServiceNow Table API (node:http on 127.0.0.1), after ServiceNow's
 * documented shapes: Basic auth, POST /api/now/table/<table> answering 201 `{ result: record }`,
 * GET /api/now/table/<table>?sysparm_query=field=value answering `{ result: [records] }`,
 * GET and PATCH /api/now/table/<table>/<sys_id>. Only `a=b` queries (joined by ^) are understood.
 */
export class FakeServiceNow {
  readonly records = new Map<string, FakeServiceNowRecord>();
  latencyMs: number;
  dropCreateAnswers = 0;
  private server: Server | null = null;
  private counter = 0;
  url = '';

  constructor(
    readonly options: { user: string; password: string; latencyMs?: number } = {
      user: 'vigil',
      password: 'sn-password',
    },
  ) {
    this.latencyMs = options.latencyMs ?? 0;
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        response.writeHead(500);
        response.end(String(error));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  setState(sysId: string, state: string): void {
    const record = this.records.get(sysId);
    if (record === undefined) throw new Error(`no record ${sysId}`);
    record.state = state;
  }

  private view(record: FakeServiceNowRecord, fields: string | null) {
    const full: Record<string, unknown> = {
      ...record.fields,
      sys_id: record.sys_id,
      number: record.number,
      state: record.state,
    };
    if (fields === null) return full;
    return Object.fromEntries(fields.split(',').map((name) => [name, full[name] ?? '']));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(request.url ?? '/', this.url);
    const method = request.method ?? 'GET';
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const expected = `Basic ${Buffer.from(`${this.options.user}:${this.options.password}`).toString('base64')}`;
    if (request.headers.authorization !== expected) {
      return send(401, {
        error: { message: 'User Not Authenticated', detail: 'Required to provide Auth information' },
        status: 'failure',
      });
    }
    const match = /^\/api\/now\/table\/([a-z_]+)(?:\/([0-9a-f]{32}))?$/.exec(url.pathname);
    if (match === null) return send(400, { error: { message: 'Invalid table' }, status: 'failure' });
    const fields = url.searchParams.get('sysparm_fields');
    const sysId = match[2];
    if (sysId === undefined && method === 'POST') {
      const body = JSON.parse(text) as Record<string, unknown>;
      this.counter += 1;
      const record: FakeServiceNowRecord = {
        sys_id: randomBytes(16).toString('hex'),
        number: `INC${String(this.counter).padStart(7, '0')}`,
        state: '1',
        fields: body,
        workNotes: [],
      };
      this.records.set(record.sys_id, record);
      if (this.dropCreateAnswers > 0) {
        this.dropCreateAnswers -= 1;
        request.socket.destroy();
        return;
      }
      return send(201, { result: this.view(record, fields) });
    }
    if (sysId === undefined && method === 'GET') {
      const conditions = (url.searchParams.get('sysparm_query') ?? '')
        .split('^')
        .filter(Boolean)
        .map((part) => part.split('=') as [string, string]);
      const limit = Number(url.searchParams.get('sysparm_limit') ?? 10_000);
      const found = [...this.records.values()].filter((record) =>
        conditions.every(([name, value]) => String(this.view(record, null)[name] ?? '') === value),
      );
      return send(200, { result: found.slice(0, limit).map((record) => this.view(record, fields)) });
    }
    const record = sysId === undefined ? undefined : this.records.get(sysId);
    if (record === undefined) return send(404, { error: { message: 'No Record found' }, status: 'failure' });
    if (method === 'GET') return send(200, { result: this.view(record, fields) });
    if (method === 'PATCH' || method === 'PUT') {
      const body = JSON.parse(text) as Record<string, unknown>;
      if (typeof body.work_notes === 'string') record.workNotes.push(body.work_notes);
      return send(200, { result: this.view(record, fields) });
    }
    return send(405, { error: { message: 'Method not supported' }, status: 'failure' });
  }
}
