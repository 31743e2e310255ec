/**
 * Card delivery through an alert storm (no faults; bench/storm.ts adds them): `vigil serve` with
 * default settings (pool of 10), a fake Slack answering every call in 100 ms, alerts at 100/s over
 * 100 fingerprints routed to 20 channels. Prints the time from the storm's end until every alert
 * has its card and until every card shows its alert's final count, the chat calls spent, the
 * notify outbox rows written (coalescing), and duplicate cards (must be 0). "Every card current"
 * cannot beat Slack's workspace-wide chat.update pace (one per 1.2 s): about 1.2 s per card.
 * Run alone: `npx tsx bench/cards.ts`.
 */
import pg from 'pg';
import { type FakeMessage, FakeSlackApi } from '../test/fakes/slack-api.js';
import { eventually, TEST_DATABASE_URL } from '../test/helpers/harness.js';
import { fmt, post, runIfMain, startBenchVigil, summarize } from './lib.js';

const INGEST = 'bench-ingest-token-0123456789';
const API = 'bench-api-token-0123456789abcd';

export async function benchCards(
  options: { ratePerSecond?: number; seconds?: number; fingerprints?: number; channels?: number } = {},
): Promise<void> {
  const rate = options.ratePerSecond ?? 100;
  const seconds = options.seconds ?? 10;
  const fingerprints = options.fingerprints ?? 100;
  const channels = options.channels ?? 20;
  const fake = await new FakeSlackApi().start();
  fake.latencyMs = 100;
  const vigil = await startBenchVigil('cards', {
    VIGIL_INGEST_TOKEN: INGEST,
    VIGIL_API_TOKEN: API,
    VIGIL_INGEST_RATE_LIMIT: '1000000',
    SLACK_BOT_TOKEN: 'xoxb-bench',
    SLACK_SIGNING_SECRET: 'bench-signing-secret',
    SLACK_API_URL: fake.url,
  });
  const { schema } = vigil;
  const db = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await db.connect();
  try {
    for (let c = 0; c < channels; c += 1) {
      await post(
        `${vigil.url}/api/routes`,
        JSON.stringify({ channel: `C0CARDS${c}`, sources: [`cards-${c}`] }),
        { authorization: `Bearer ${API}` },
      );
    }
    const total = rate * seconds;
    const sends: Promise<{ status: number; ms: number }>[] = [];
    const start = performance.now();
    for (let i = 0; i < total; i += 1) {
      const wait = start + (i * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const fp = i % fingerprints;
      const body = JSON.stringify({
        title: `Storm ${fp}`,
        fingerprint: `cards-${fp}`,
        source: `cards-${fp % channels}`,
      });
      sends.push(post(`${vigil.url}/ingest/generic`, body, { authorization: `Bearer ${INGEST}` }));
    }
    const answers = await Promise.all(sends);
    const stormEnd = performance.now();
    if (answers.some((answer) => answer.status !== 202)) throw new Error('an ingest was not accepted');
    const ingest = summarize(answers.map((answer) => answer.ms));

    const cards = () => [...fake.messages.values()].filter((message) => message.threadTs === null);
    const alertOf = (card: FakeMessage) =>
      (card.metadata?.event_payload as { alertId?: string } | undefined)?.alertId ?? '';
    await eventually(
      async () => new Set(cards().map(alertOf)).size >= fingerprints,
      300_000,
      'every alert with its card',
    );
    const posted = performance.now() - stormEnd;
    const counts = await db.query<{ id: string; occurrence_count: number }>(
      `SELECT id, occurrence_count FROM "${schema}".alerts`,
    );
    const finalCount = new Map(counts.rows.map((row) => [row.id, row.occurrence_count]));
    const current = () =>
      cards().every((card) =>
        JSON.stringify(card.blocks).includes(`*Occurrences*\\n${finalCount.get(alertOf(card))}`),
      );
    await eventually(async () => current(), 600_000, 'every card current');
    const allCurrent = performance.now() - stormEnd;
    const byAlert = new Map<string, number>();
    for (const card of cards()) {
      byAlert.set(alertOf(card), (byAlert.get(alertOf(card)) ?? 0) + 1);
    }
    const duplicates = [...byAlert.values()].filter((n) => n > 1).length;
    const rows = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM "${schema}".outbox WHERE topic = 'notify'`,
    );
    console.log(
      `\n## Cards through a storm (${rate} alerts/s for ${seconds} s, ${fingerprints} fingerprints, ${channels} channels, Slack answering in 100 ms)` +
        `\ningest p50 ${fmt(ingest.p50)}, p99 ${fmt(ingest.p99)}` +
        `\nevery alert with its card ${fmt(posted)} after the storm; every card current ${fmt(allCurrent)} after` +
        `\nchat.postMessage ${fake.callsOf('chat.postMessage').length}, chat.update ${fake.callsOf('chat.update').length}, ` +
        `notify outbox rows ${rows.rows[0]?.n} for ${total} occurrences, duplicate cards ${duplicates}`,
    );
  } finally {
    await db.end();
    await vigil.stop();
    await fake.stop();
  }
}

runIfMain(import.meta.url, benchCards);
