import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixture, startTestVigil, type TestVigil } from '../helpers/harness.js';

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
  it('answers 429 with Retry-After when one source floods, and other sources still pass', async () => {
    const started = performance.now();
    const flood = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        vigil.ingest('generic', { title: `flood ${i}`, source: 'flooder' }),
      ),
    );
    const limited = flood.filter((response) => response.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(Number(limited[0]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // A burst of two seconds' worth (40) passes, plus what refills while the flood lasts.
    const refilled = Math.ceil(((performance.now() - started) / 1000) * 20);
    expect(flood.filter((response) => response.status === 202).length).toBeLessThanOrEqual(40 + refilled);
    const other = await vigil.ingest('generic', { title: 'calm', source: 'calm' });
    expect(other.status).toBe(202);
  });
});
