import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixture, INGEST_TOKEN, startTestVigil, type TestVigil } from '../helpers/harness.js';

let vigil: TestVigil;

beforeAll(async () => {
  vigil = await startTestVigil({ env: { VIGIL_INGEST_RATE_LIMIT: '20' } });
});
afterAll(async () => {
  await vigil?.close();
});

const stored = async () => ({
  alerts: Number(
    (
      await vigil.handle.db
        .selectFrom('alerts')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  ),
  outbox: Number(
    (
      await vigil.handle.db
        .selectFrom('outbox')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  ),
});

let before: { alerts: number; outbox: number };
beforeEach(async () => {
  before = await stored();
});

async function expectRefused(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  const body = (await response.json()) as {
    error: { code: string; message: string; issues?: { path: string }[] };
  };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(10);
  expect(await stored()).toEqual(before);
  return body.error;
}

describe('bad input is refused with a clear answer and nothing is stored', () => {
  it('missing required fields name their paths', async () => {
    const body = JSON.parse(
      await readFile(fixture('malformed/alertmanager.missing-required-fields.HANDMADE.json'), 'utf8'),
    );
    const error = await expectRefused(await vigil.ingest('alertmanager', body), 400, 'request.invalid');
    const paths = error.issues?.map((issue) => issue.path) ?? [];
    expect(paths).toEqual(expect.arrayContaining(['status', 'alerts']));
  });

  it('wrong types name their paths', async () => {
    const body = JSON.parse(
      await readFile(fixture('malformed/graph-alert.wrong-types.HANDMADE.json'), 'utf8'),
    );
    const error = await expectRefused(await vigil.ingest('graph', body), 400, 'request.invalid');
    const paths = error.issues?.map((issue) => issue.path) ?? [];
    expect(paths).toEqual(expect.arrayContaining(['id', 'title']));
  });

  it('a generic alert without a title says so', async () => {
    const error = await expectRefused(
      await vigil.ingest('generic', { severity: 'high' }),
      400,
      'request.invalid',
    );
    expect(error.message).toContain('title');
    expect(error.issues?.[0]?.path).toBe('title');
  });

  it('a body over 1 MiB gets 413', async () => {
    const body = { title: 'big', description: 'x'.repeat(2 * 1024 * 1024) };
    await expectRefused(await vigil.ingest('generic', body), 413, 'request.too_large');
  });

  it('an empty body gets 400', async () => {
    await expectRefused(await vigil.ingest('generic', undefined, { raw: '' }), 400, 'request.empty_body');
  });

  it('invalid JSON gets 400', async () => {
    await expectRefused(
      await vigil.ingest('generic', undefined, { raw: '{"title": "x",' }),
      400,
      'request.invalid_json',
    );
  });

  it('a wrong or missing token gets 401', async () => {
    await expectRefused(
      await vigil.ingest('generic', { title: 'x' }, { token: 'not-the-token' }),
      401,
      'auth.unauthorized',
    );
    await expectRefused(
      await vigil.ingest('generic', { title: 'x' }, { token: null }),
      401,
      'auth.unauthorized',
    );
  });

  it('an unknown format gets 404', async () => {
    await expectRefused(await vigil.ingest('splunk', { title: 'x' }), 404, 'route.not_found');
  });
});

describe('hostile but valid text is stored verbatim', () => {
  it('keeps emoji, right-to-left text and an HTML/script title as text', async () => {
    const title = '<script>alert(1)</script> 🔥 تنبيه אזהרה \u202Eevil';
    const response = await vigil.ingest('generic', {
      title,
      description: '<img src=x onerror=alert(1)>',
      source: 'hostile',
    });
    expect(response.status).toBe(202);
    const { alerts } = (await response.json()) as { alerts: { id: string }[] };
    const detail = (await (await vigil.api('GET', `/api/alerts/${alerts[0]?.id}`)).json()) as Record<
      string,
      unknown
    >;
    expect(detail.title).toBe(title);
    expect(detail.description).toBe('<img src=x onerror=alert(1)>');
  });

  it('drops NUL and lone surrogates Postgres cannot hold, keeping the rest', async () => {
    const raw = '{"title":"a\\u0000b \\ud83d c","source":"hostile"}';
    const response = await vigil.ingest('generic', undefined, { raw });
    expect(response.status).toBe(202);
    const { alerts } = (await response.json()) as { alerts: { id: string }[] };
    const detail = (await (await vigil.api('GET', `/api/alerts/${alerts[0]?.id}`)).json()) as Record<
      string,
      unknown
    >;
    expect(detail.title).toBe('ab \uFFFD c');
  });
});

describe('flood control', () => {
  it('answers 429 with Retry-After when one sender floods, whatever source it names, before reading the body; other senders still pass', async () => {
    const started = performance.now();
    // A fresh `source` per request used to be a fresh bucket: the key is now the sender's address.
    const flood = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        vigil.ingest('generic', { title: `flood ${i}`, source: `flooder-${i}` }),
      ),
    );
    const limited = flood.filter((response) => response.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(Number(limited[0]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await (limited[0] as Response).json()) as any).error.code).toBe('ingest.rate_limited');
    // A burst of two seconds' worth (40) passes, plus what refills while the flood lasts.
    const refilled = Math.ceil(((performance.now() - started) / 1000) * 20);
    expect(flood.filter((response) => response.status === 202).length).toBeLessThanOrEqual(40 + refilled);
    // Refused before the body is read: bodies that are not even JSON get 429 once the bucket is
    // empty, not 400 (only what refilled meanwhile gets as far as the parser).
    const unread = await Promise.all(
      Array.from({ length: 100 }, () => vigil.ingest('generic', null, { raw: '{not json' })),
    );
    expect(unread.filter((response) => response.status === 429).length).toBeGreaterThan(0);
    const parsed = unread.filter((response) => response.status === 400).length;
    expect(parsed).toBeLessThanOrEqual(Math.ceil(((performance.now() - started) / 1000) * 20));

    // Another sender (another address) still passes.
    const other = await postFrom('127.0.0.2', '/ingest/generic', { title: 'calm', source: 'calm' });
    expect(other.status).toBe(202);
  });
});

/** A POST from a given local address: 127.0.0.0/8 is all loopback, so each is another sender. */
function postFrom(localAddress: string, path: string, body: unknown): Promise<{ status: number }> {
  const url = new URL(path, vigil.baseUrl);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      {
        method: 'POST',
        localAddress,
        headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 0 }));
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}
