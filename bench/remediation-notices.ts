import pg from 'pg';
import { FakeSlackApi } from '../test/fakes/slack-api.js';
import { eventually, TEST_DATABASE_URL } from '../test/helpers/harness.js';
import { BENCH_TOKENS, fmt, post, runIfMain, slackBenchEnv, startBenchVigil, summarize } from './lib.js';

const { ingest: INGEST, api: API } = BENCH_TOKENS;
const DAY = 86_400_000;

/**
 * A remediation reminder falling due → its notice at the chat API (issue 14, target p99 < 1 s).
 * `vigil serve` in its own process, with the fake Slack Web API. Each remediation is filed on an
 * alert of its own, routed to a channel of its own (Slack allows one message per second per
 * channel, which would otherwise measure the queue in one channel), due a day and some seconds
 * from now, so its reminder (a delayed outbox row, a day before the due date) falls due on the
 * real clock within the next minute, spread evenly. Measured from the row's due time (its
 * `available_at`, Postgres's clock, the same machine's) to the reply arriving in the card's thread.
 * Run alone: `npx tsx bench/remediation-notices.ts`.
 */
export async function benchRemediationNotices(
  options: { count?: number; spreadMs?: number } = {},
): Promise<void> {
  const count = options.count ?? 200;
  const spreadMs = options.spreadMs ?? 60_000;
  const fake = await new FakeSlackApi().start();
  const vigil = await startBenchVigil('notices', {
    ...slackBenchEnv(fake.url),
  });
  const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
  const api = (path: string, body: unknown) =>
    post(`${vigil.url}${path}`, JSON.stringify(body), { authorization: `Bearer ${API}` });
  const channel = (i: number) => `C0N${i}`;
  try {
    for (let i = 0; i < count; i += 1) {
      const routed = await api('/api/routes', { channel: channel(i), sources: [`bench-n${i}`] });
      if (routed.status >= 300) throw new Error(`POST /api/routes answered ${routed.status}`);
    }
    const ingested = await fetch(`${vigil.url}/ingest/generic`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        alerts: Array.from({ length: count }, (_, i) => ({
          title: `Vulnerable ${i}`,
          source: `bench-n${i}`,
          severity: 'high',
          fingerprint: `n${i}`,
        })),
      }),
    });
    const alerts = ((await ingested.json()) as { alerts: { id: string }[] }).alerts.map((alert) => alert.id);
    // A reminder is told in the thread of the alert's card, so the cards must be there first.
    await eventually(
      async () =>
        Number(
          (
            await pool.query(
              `SELECT count(*) AS n FROM ${vigil.schema}.cards WHERE platform = 'slack' AND message_ref IS NOT NULL`,
            )
          ).rows[0].n,
        ) === count,
      120_000,
      'every card posted',
    );

    const firstDue = Date.now() + 10_000;
    for (const [i, alertId] of alerts.entries()) {
      const filed = await api('/api/remediations', {
        recommendation: `Patch ${i}`,
        devices: [`host-${i}`],
        dueAt: new Date(firstDue + DAY + Math.floor((i * spreadMs) / count)).toISOString(),
        alertId,
      });
      if (filed.status !== 201) throw new Error(`POST /api/remediations answered ${filed.status}`);
    }
    const reminders = () =>
      fake
        .callsOf('chat.postMessage')
        .filter(
          (call) =>
            call.args.thread_ts !== undefined && / is due .* not completed yet/.test(String(call.args.text)),
        );
    await eventually(
      async () => reminders().length >= count,
      spreadMs + 120_000,
      `every reminder told (${reminders().length} of ${count} so far)`,
    );
    const dueAt = new Map<string, number>(
      (
        await pool.query(
          `SELECT r.alert_id, o.available_at FROM ${vigil.schema}.outbox o
             JOIN ${vigil.schema}.remediations r ON r.id = (o.payload->>'remediationId')::uuid
            WHERE o.payload->>'kind' = 'reminder' AND o.available_at IS NOT NULL`,
        )
      ).rows.map((row) => [row.alert_id as string, (row.available_at as Date).getTime()]),
    );
    const channelAlert = new Map(alerts.map((alertId, i) => [channel(i), alertId]));
    const latencies = reminders().map((call) => {
      const due = dueAt.get(channelAlert.get(String(call.args.channel)) ?? '');
      if (due === undefined) throw new Error(`a reminder in ${String(call.args.channel)} of no remediation`);
      return call.at - due;
    });
    const s = summarize(latencies);
    console.log(
      `\n## Remediation reminder falling due → chat.postMessage (vigil serve, fake Slack, ${count} reminders over ${spreadMs / 1000} s, one channel each)`,
    );
    console.log(
      `p50 ${fmt(s.p50)}, p99 ${fmt(s.p99)}, max ${fmt(s.max)} (n=${latencies.length}, target p99 < 1 s)`,
    );
  } finally {
    await pool.end();
    await vigil.stop();
    await fake.stop();
  }
}

runIfMain(import.meta.url, benchRemediationNotices);
