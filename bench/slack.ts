/**
 * Slack benchmark against the real Postgres 'test' database and Redis, with the fake Slack Web API:
 *  1. signed click → HTTP acknowledgement, 200 clicks at once (p50/p99);
 *  2. ingest → chat.postMessage at the fake, 100 alerts/s (p50/p99). Each alert goes to its own
 *     channel through a route, so Slack's one-message-per-second-per-channel pacing does not
 *     dominate what is measured (the pipeline's latency).
 * Run alone: `npx tsx bench/slack.ts`.
 */
import { CARD_ACTIONS } from '../src/bot/card-actions.js';
import { FakeSlackApi } from '../test/fakes/slack-api.js';
import { eventually } from '../test/helpers/harness.js';
import { interactionBody, slackHeaders } from '../test/helpers/slack-signing.js';
import { BENCH_TOKENS, fmt, post, runIfMain, slackBenchEnv, startBenchVigil, summarize } from './lib.js';

const ADMIN = 'U0BENCH';
const { ingest: INGEST, api: API, slackSigningSecret: SECRET } = BENCH_TOKENS;

/**
 * Vigil runs as `vigil serve` in its own process, as in production; this process is the load
 * generator and the fake Slack Web API, so neither steals the server's event loop.
 */
export async function benchSlack(
  options: { clicks?: number; alerts?: number; ratePerSecond?: number } = {},
): Promise<{ click: number[]; delivery: number[] }> {
  const clicks = options.clicks ?? 200;
  const alerts = options.alerts ?? 300;
  const rate = options.ratePerSecond ?? 100;
  const fake = await new FakeSlackApi().start();
  const vigil = await startBenchVigil('slack', {
    ...slackBenchEnv(fake.url),
    VIGIL_ADMINS: `slack:${ADMIN}`,
  });
  const json = (token: string) => ({ authorization: `Bearer ${token}` });
  try {
    // --- 1. clicks: 200 alerts (one batch), then one signed click on each, all at once, after a
    // warm-up round (first requests pay for JIT compilation and connection set-up).
    const ingested = await fetch(`${vigil.url}/ingest/generic`, {
      method: 'POST',
      headers: { ...json(INGEST), 'content-type': 'application/json' },
      body: JSON.stringify({
        alerts: Array.from({ length: clicks * 2 }, (_, i) => ({
          title: `click ${i}`,
          source: 'bench-click',
          fingerprint: `c${i}`,
        })),
      }),
    });
    const ids = ((await ingested.json()) as { alerts: { id: string }[] }).alerts.map((alert) => alert.id);
    const bodies = ids.map((alertId) =>
      interactionBody({
        type: 'block_actions',
        user: { id: ADMIN, username: 'bench', name: 'bench', team_id: 'T0' },
        container: { type: 'message', message_ts: '1.1', channel_id: 'C0BENCH' },
        channel: { id: 'C0BENCH', name: 'bench' },
        team: { id: 'T0', domain: 'bench' },
        trigger_id: 't',
        actions: [
          {
            action_id: CARD_ACTIONS.startProgress,
            block_id: 'b',
            value: `${alertId}:1`,
            type: 'button',
            action_ts: '1.1',
          },
        ],
      }),
    );
    const clickAll = (batch: readonly string[]) =>
      Promise.all(
        batch.map((body) =>
          post(
            `${vigil.url}/slack/events`,
            body,
            slackHeaders(SECRET, body, 'application/x-www-form-urlencoded'),
          ),
        ),
      );
    // The first half warms up (JIT, kept-alive sockets) and its background work is let finish.
    await clickAll(bodies.slice(0, clicks));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const answers = await clickAll(bodies.slice(clicks));
    if (answers.some((answer) => answer.status !== 200))
      throw new Error('a click was not acknowledged with 200');
    const click = answers.map((answer) => answer.ms);
    const cs = summarize(click);
    console.log(
      `\n## Slack\nsigned click → HTTP ack, ${clicks} concurrent: p50 ${fmt(cs.p50)}, p99 ${fmt(cs.p99)} (n=${click.length})`,
    );

    // --- 2. delivery: one route (and channel) per alert, so the per-channel pacing does not dominate.
    for (let i = 0; i < alerts; i += 1) {
      await post(
        `${vigil.url}/api/routes`,
        JSON.stringify({ channel: `C0D${i}`, sources: [`bench-d${i}`] }),
        json(API),
      );
    }
    const sentAt = new Map<string, number>();
    const sends: Promise<unknown>[] = [];
    const start = performance.now();
    for (let i = 0; i < alerts; i += 1) {
      const wait = start + (i * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      sentAt.set(`C0D${i}`, Date.now());
      const body = JSON.stringify({ title: `deliver ${i}`, source: `bench-d${i}`, severity: 'high' });
      sends.push(post(`${vigil.url}/ingest/generic`, body, json(INGEST)));
    }
    await Promise.all(sends);
    await eventually(
      async () =>
        fake.callsOf('chat.postMessage').filter((call) => String(call.args.channel).startsWith('C0D'))
          .length >= alerts,
      120_000,
      `every card posted (${fake.callsOf('chat.postMessage').filter((call) => String(call.args.channel).startsWith('C0D')).length} of ${alerts} so far)`,
    );
    const delivery = fake
      .callsOf('chat.postMessage')
      .filter((call) => String(call.args.channel).startsWith('C0D') && call.args.thread_ts === undefined)
      .map((call) => call.at - (sentAt.get(String(call.args.channel)) ?? call.at));
    const ds = summarize(delivery);
    console.log(
      `ingest → chat.postMessage at ${rate} alerts/s: p50 ${fmt(ds.p50)}, p99 ${fmt(ds.p99)} (n=${delivery.length})`,
    );
    return { click, delivery };
  } finally {
    await vigil.stop();
    await fake.stop();
  }
}

runIfMain(import.meta.url, benchSlack);
