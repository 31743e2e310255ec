import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_TOKEN, INGEST_TOKEN, startTestVigil, type TestVigil } from '../helpers/harness.js';

// Input that is within the documented limits, or just outside them, gets a clear answer.
let vigil: TestVigil;
const JIRA_SECRET = 'jira-webhook-secret-0123456789';
/** The bearer token each endpoint takes. */
const tokenFor = (path: string) =>
  path.startsWith('/api') ? API_TOKEN : path.startsWith('/ingest/tickets') ? JIRA_SECRET : INGEST_TOKEN;

beforeAll(async () => {
  // The web role alone: these tests are about what the listener answers and what it stores.
  vigil = await startTestVigil({
    roles: { web: true, worker: false },
    env: { VIGIL_JIRA_WEBHOOK_SECRET: JIRA_SECRET },
  });
});
afterAll(async () => {
  await vigil?.close();
});

const INGEST_PATHS = [
  '/ingest/generic',
  '/ingest/alertmanager',
  '/ingest/graph',
  '/ingest/grafana',
  '/ingest/pagerduty',
  '/ingest/tickets/jira',
];

/**
 * Sends a request as a slow sender does (the body in pieces, each written once the last has
 * gone) and returns the answer's status line, or the socket error that ended the exchange.
 */
async function sendSlowly(path: string, bodyBytes: number): Promise<string> {
  const url = new URL(vigil.baseUrl);
  const socket = net.connect(Number(url.port), url.hostname);
  let received = '';
  const ended = new Promise<string>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(`socket error ${error.code}`));
    socket.on('close', () => resolve(received.split('\r\n')[0] ?? ''));
  });
  const write = (data: string | Buffer) =>
    new Promise<void>((resolve, reject) =>
      socket.write(data, (error) => (error ? reject(error) : resolve())),
    );
  try {
    await write(
      `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${tokenFor(path)}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${bodyBytes}\r\nConnection: close\r\n\r\n`,
    );
    const piece = Buffer.alloc(64 * 1024, 'x');
    for (let sent = 0; sent < bodyBytes; sent += piece.length) {
      await write(piece.subarray(0, Math.min(piece.length, bodyBytes - sent)));
      // Give the server time to answer and close before the sender is done, as a slow link does.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } catch {
    // A write refused because the server reset the connection: the answer says why.
  }
  return ended;
}

describe('a body over 1 MiB', () => {
  it('is read to the end before the 413, so a slow sender gets the answer, not a reset', async () => {
    for (const path of ['/ingest/generic', '/ingest/tickets/jira']) {
      expect(await sendSlowly(path, 3 * 1024 * 1024), path).toBe('HTTP/1.1 413 Payload Too Large');
    }
  });

  it('reaches a fetch client as a 413 answer, not a reset connection', async () => {
    const body = JSON.stringify({ title: 'big', description: 'x'.repeat(3 * 1024 * 1024) });
    for (const path of ['/ingest/generic', '/ingest/tickets/jira', '/api/policies']) {
      const response = await fetch(`${vigil.baseUrl}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${tokenFor(path)}`,
        },
        body,
      });
      expect(response.status, path).toBe(413);
      expect(await response.json()).toMatchObject({ error: { code: 'request.too_large' } });
    }
  });

  it('is refused the same when sent chunked, without a Content-Length', async () => {
    const body = new TextEncoder().encode(JSON.stringify({ title: 'big', description: 'x'.repeat(2 << 20) }));
    const response = await fetch(`${vigil.baseUrl}/ingest/generic`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
      body: new Blob([body]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    // Within the limit, a chunked body goes through as usual.
    const small = await fetch(`${vigil.baseUrl}/ingest/generic`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
      body: new Blob([JSON.stringify({ title: 'chunked but small' })]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(small.status).toBe(202);
  });
});

describe('JSON nested 20,000 deep', () => {
  const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
  const deepObject = `{"title":"deep","labels":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`;

  it('gets a 400 naming the problem on every ingest endpoint', async () => {
    for (const path of INGEST_PATHS) {
      for (const raw of [deep, deepObject]) {
        const response = await fetch(`${vigil.baseUrl}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenFor(path)}` },
          body: raw,
        });
        expect(response.status, path).toBe(400);
        const body = (await response.json()) as { error: { code: string; message: string } };
        expect(body.error.code, path).toBe('request.too_deep');
        expect(body.error.message).toContain('nested');
      }
    }
  });

  it('gets a 400 on the API', async () => {
    for (const raw of [deep, deepObject]) {
      const response = await fetch(`${vigil.baseUrl}/api/policies`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
        body: raw,
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: 'request.too_deep' } });
    }
  });
});

describe('a batch within the documented limits', () => {
  it('stores 30 alerts with 400 entities each (more bind parameters than Postgres takes in one statement)', async () => {
    const alerts = Array.from({ length: 30 }, (_, a) => ({
      title: `Wide alert ${a}`,
      fingerprint: `wide-${a}`,
      entities: Array.from({ length: 400 }, (_, e) => ({
        kind: 'ip',
        id: `10.${a}.${Math.floor(e / 256)}.${e % 256}`,
        attributes: { seen: e },
      })),
    }));
    const response = await vigil.ingest('generic', { alerts });
    expect(response.status).toBe(202);
    const stored = await vigil.handle.db
      .selectFrom('alert_entities')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow();
    expect(Number(stored.count)).toBe(30 * 400);
  });
});

describe('an alert with thousands of entities and audit entries', () => {
  it('is read through the API in bounded pages', async () => {
    const entities = Array.from({ length: 400 }, (_, e) => ({
      kind: 'ip',
      id: `192.0.${e >> 8}.${e & 255}`,
    }));
    const response = await vigil.ingest('generic', { title: 'Many entities', fingerprint: 'many', entities });
    const alertId = ((await response.json()) as { alerts: { id: string }[] }).alerts[0]?.id as string;
    await vigil.handle.db
      .insertInto('audit_log')
      .values(
        Array.from({ length: 150 }, (_, n) => ({
          alert_id: alertId,
          actor: JSON.stringify({ kind: 'system' }),
          actor_key: 'system',
          action: 'alert.noted',
          details: JSON.stringify({ n }),
        })),
      )
      .execute();

    const detail = (await (await vigil.api('GET', `/api/alerts/${alertId}`)).json()) as {
      entities: unknown[];
      entityCount: number;
      entitiesTruncated: boolean;
      audit: { details: { n?: number } }[];
      auditTruncated: boolean;
    };
    expect(detail.entities).toHaveLength(100);
    expect(detail).toMatchObject({ entityCount: 400, entitiesTruncated: true, auditTruncated: true });
    expect(detail.audit).toHaveLength(100);
    // The latest entries, oldest first.
    expect(detail.audit.at(-1)?.details.n).toBe(149);

    const keys: string[] = [];
    let cursor: string | null = null;
    do {
      const query = cursor === null ? '' : `&cursor=${cursor}`;
      const page = (await (
        await vigil.api('GET', `/api/alerts/${alertId}/entities?limit=150${query}`)
      ).json()) as {
        entities: { key: string }[];
        nextCursor: string | null;
      };
      expect(page.entities.length).toBeLessThanOrEqual(150);
      keys.push(...page.entities.map((entity) => entity.key));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(new Set(keys).size).toBe(400);

    const firstAudit = (await (await vigil.api('GET', `/api/alerts/${alertId}/audit?limit=100`)).json()) as {
      audit: unknown[];
      nextCursor: string;
    };
    const restAudit = (await (
      await vigil.api('GET', `/api/alerts/${alertId}/audit?limit=100&cursor=${firstAudit.nextCursor}`)
    ).json()) as { audit: unknown[]; nextCursor: string | null };
    // The alert.created entry and the 150 added here.
    expect(firstAudit.audit.length + restAudit.audit.length).toBe(151);
    expect(restAudit.nextCursor).toBeNull();

    const bad = await vigil.api('GET', `/api/alerts/${alertId}/audit?cursor=nonsense`);
    expect(bad.status).toBe(400);
  });
});
