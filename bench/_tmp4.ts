import http from 'node:http';
import { sql } from 'kysely';
import { API_TOKEN, startTestVigil } from '../test/helpers/harness.js';

const vigil = await startTestVigil({ roles: { web: true, worker: false } });
await sql`
      INSERT INTO remediations (subject_kind, recommendation, devices, device_count, due_at, priority, notes,
        requester, requester_key, idempotency_key, created_at, updated_at)
      SELECT 'recommendation', 'Bulk recommendation ' || i || ' with some text, "quoted" too', '[]'::jsonb, 1 + i % 500,
        now() + interval '7 days', 'medium', 'notes ' || i, '{"kind":"system"}'::jsonb, 'system', 'bulk-' || i,
        date_trunc('milliseconds', now()) - make_interval(secs => i), now()
      FROM generate_series(1, 100000) AS i`.execute(vigil.handle.db);
await sql`ANALYZE remediations`.execute(vigil.handle.db);
for (let k = 0; k < 3; k++) {
  const t = performance.now();
  const bytes = await new Promise<number>((resolve, reject) => {
    http.get(
      `${vigil.baseUrl}/api/remediations.csv`,
      { headers: { authorization: `Bearer ${API_TOKEN}` } },
      (res) => {
        let n = 0;
        res.on('data', (c) => {
          n += c.length;
        });
        res.on('end', () => resolve(n));
        res.on('error', reject);
      },
    );
  });
  console.log('export', performance.now() - t, bytes, process.memoryUsage().rss / 1e6);
}
await vigil.close();
process.exit(0);
