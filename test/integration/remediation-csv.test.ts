import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestVigil, type TestVigil } from '../helpers/harness.js';

let vigil: TestVigil;

beforeAll(async () => {
  vigil = await startTestVigil();
});
afterAll(async () => {
  await vigil?.close();
});

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

/** RFC 4180 as spreadsheets read it: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (c !== '\r') field += c;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

async function exportCsv(
  query = '',
): Promise<{ raw: string; rows: Record<string, string>[]; response: Response }> {
  const response = await vigil.api('GET', `/api/remediations.csv${query}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  // Decoded by hand: fetch's text() would drop the byte order mark this export must carry.
  const raw = bytes.toString('utf8');
  const [header, ...records] = parseCsv(raw.replace(/^\uFEFF/, ''));
  const rows = records.map((record) =>
    Object.fromEntries((header ?? []).map((name, i) => [name, record[i] ?? ''])),
  );
  return { raw, rows, response };
}

async function create(body: Record<string, unknown>): Promise<string> {
  const response = await vigil.api('POST', '/api/remediations', {
    devices: ['pc-1', 'pc-2'],
    dueAt: inDays(5),
    priority: 'medium',
    ...body,
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as any).remediation.id;
}

describe('GET /api/remediations.csv', () => {
  it('quotes, keeps unicode, and neutralises formulas in every text cell', async () => {
    const tricky = 'Patch "OpenSSL", then reboot\nsecond line';
    const unicode = 'Mettre à jour 日本語 — ünïcödé 🚀';
    const id1 = await create({
      recommendation: tricky,
      notes: '=HYPERLINK("http://evil","x")',
      priority: 'critical',
    });
    const id2 = await create({ recommendation: unicode, notes: '+cmd|calc' });
    const id3 = await create({ recommendation: '-2+3', notes: '@SUM(A1)' });
    const id4 = await create({ recommendation: 'Tabbed', notes: '\t=1+1' });

    const { raw, rows, response } = await exportCsv();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toContain('remediations.csv');
    expect(raw.startsWith('\uFEFFnumber,id,status,priority,recommendation')).toBe(true);
    expect(raw).toContain('"Patch ""OpenSSL"", then reboot\nsecond line"');

    const byId = Object.fromEntries(rows.map((row) => [row.id, row]));
    expect(byId[id1]?.recommendation).toBe(tricky);
    expect(byId[id1]?.notes).toBe(`'=HYPERLINK("http://evil","x")`);
    expect(byId[id2]?.recommendation).toBe(unicode);
    expect(byId[id2]?.notes).toBe(`'+cmd|calc`);
    expect(byId[id3]?.recommendation).toBe(`'-2+3`);
    expect(byId[id3]?.notes).toBe(`'@SUM(A1)`);
    expect(byId[id4]?.notes).toBe(`'\t=1+1`);
    expect(byId[id1]).toMatchObject({
      status: 'open',
      priority: 'critical',
      devices: '2',
      devices_left: '0',
    });
    expect(byId[id1]?.requester).toBe('api:service');
  });

  it('exports all remediation activity by default, exceptions included, and lists them apart on request', async () => {
    const low = await create({ recommendation: 'Low one', priority: 'low', dueAt: inDays(40) });
    const excepted = await create({ recommendation: 'Excepted one', priority: 'low' });
    await vigil.api('POST', `/api/remediations/${excepted}/exception`, {
      reason: 'business_justification',
      justification: 'Line-of-business app needs it',
      expiresAt: inDays(10),
    });
    // Seed 003: the export is of *all* remediation activity, exceptions too.
    const lowRows = (await exportCsv('?priority=low')).rows;
    expect(lowRows.map((row) => row.id)).toEqual([excepted, low]);
    const withoutExceptions = (await exportCsv('?priority=low&view=remediations')).rows;
    expect(withoutExceptions.map((row) => row.id)).toEqual([low]);
    const exceptions = (await exportCsv('?view=exceptions')).rows;
    expect(exceptions.map((row) => row.id)).toEqual([excepted]);
    expect(exceptions[0]).toMatchObject({
      exception_reason: 'business_justification',
      exception_justification: 'Line-of-business app needs it',
    });
    const dueLater = (await exportCsv(`?dueAfter=${encodeURIComponent(inDays(30))}&view=remediations`)).rows;
    expect(dueLater.map((row) => row.id)).toEqual([low]);
    const bad = await vigil.api('GET', '/api/remediations.csv?status=done');
    expect(bad.status).toBe(400);
  });

  it('stores the completion comment, shows it in the API and exports it', async () => {
    const id = await create({ recommendation: 'Rotate the service principal secret', priority: 'high' });
    const done = await vigil.api('POST', `/api/remediations/${id}/complete`, {
      comment: '  Rotated by IT on the 3rd; old secret revoked  ',
    });
    expect(done.status).toBe(200);
    const { remediation } = (await done.json()) as {
      remediation: { status: string; completionComment: string };
    };
    expect(remediation).toMatchObject({
      status: 'completed',
      completionComment: 'Rotated by IT on the 3rd; old secret revoked',
    });
    const stored = (await (await vigil.api('GET', `/api/remediations/${id}`)).json()) as {
      completionComment: string;
      audit: { action: string; details: Record<string, unknown> }[];
    };
    expect(stored.completionComment).toBe('Rotated by IT on the 3rd; old secret revoked');
    expect(stored.audit.find((row) => row.action === 'remediation.complete')?.details.comment).toBe(
      'Rotated by IT on the 3rd; old secret revoked',
    );
    const row = (await exportCsv('?status=completed')).rows.find((item) => item.id === id);
    expect(row?.completion_comment).toBe('Rotated by IT on the 3rd; old secret revoked');
  });

  it('streams 100,000 rows in bounded memory', async () => {
    await sql`
      INSERT INTO remediations (subject_kind, recommendation, devices, device_count, due_at, priority, notes,
        requester, requester_key, idempotency_key, created_at, updated_at)
      SELECT 'recommendation', 'Bulk recommendation ' || i || ' with some text, "quoted" too', '[]'::jsonb, 1 + i % 500,
        now() + interval '7 days', 'medium', 'notes ' || i, '{"kind":"system"}'::jsonb, 'system', 'bulk-' || i,
        date_trunc('milliseconds', now()) - make_interval(secs => i), now()
      FROM generate_series(1, 100000) AS i`.execute(vigil.handle.db);
    // What autovacuum does after a bulk load; without statistics Postgres scans the table for each page.
    await sql`ANALYZE remediations`.execute(vigil.handle.db);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    let lines = 0;
    try {
      const response = await vigil.api('GET', '/api/remediations.csv?priority=medium');
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const byte of value) if (byte === 10) lines += 1;
      }
    } finally {
      clearInterval(sampler);
    }
    // 100,000 bulk rows plus the header and the rows of the tests above (one has a line break).
    expect(lines).toBeGreaterThanOrEqual(100_001);
    // The server and this reader share the process: ~35 MB measured. Pages of 1,000 rows read through
    // pg's promise form, each promoted to the old generation until a full collection, took ~130 MB.
    expect((peak - before) / 1024 / 1024).toBeLessThan(64);
  }, 60_000);
});
