/**
 * Slack benchmark against the real Postgres 'test' database and Redis, with the fake Slack Web API:
 *  1. signed click → HTTP acknowledgement, 200 clicks at once (p50/p99);
 *  2. ingest → chat.postMessage at the fake, 100 alerts/s (p50/p99). Each alert goes to its own
 *     channel through a route, so Slack's one-message-per-second-per-channel pacing does not
 *     dominate what is measured (the pipeline's latency).
 * Run alone: `npx tsx bench/slack.ts`.
 */
import { pathToFileURL } from 'node:url';
import { CARD_ACTIONS } from '../src/bot/card-actions.js';
import { FakeSlackApi } from '../test/fakes/slack-api.js';
import { eventually, startTestVigil } from '../test/helpers/harness.js';
import { interactionBody, slackHeaders } from '../test/helpers/slack-signing.js';

const SECRET = 'bench-signing-secret';
const ADMIN = 'U0BENCH';

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};
const fmt = (values: readonly number[]) =>
  `p50 ${percentile(values, 50).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms (n=${values.length})`;

export async function benchSlack(options: { clicks?: number; alerts?: number; ratePerSecond?: number } = {}): Promise<{
  click: number[];
  delivery: number[];
}> {
  const clicks = options.clicks ?? 200;
  const alerts = options.alerts ?? 300;
  const rate = options.ratePerSecond ?? 100;
  const fake = await new FakeSlackApi().start();
  const vigil = await startTestVigil({
    env: {
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: fake.url,
      SLACK_ALERT_CHANNEL: 'C0BENCH',
      VIGIL_ADMINS: `slack:${ADMIN}`,
      LOG_LEVEL: 'warn',
    },
  });
  try {
    // --- 1. clicks: 200 alerts (one batch), then one signed click on each, all at once.
    const response = await vigil.ingest('generic', {
      alerts: Array.from({ length: clicks }, (_, i) => ({ title: `click ${i}`, source: 'bench-click', fingerprint: `c${i}` })),
    });
    const ids = ((await response.json()) as { alerts: { id: string }[] }).alerts.map((alert) => alert.id);
    const bodies = ids.map((id) =>
      interactionBody({
        type: 'block_actions',
        user: { id: ADMIN, username: 'bench', name: 'bench', team_id: 'T0' },
        container: { type: 'message', message_ts: '1.1', channel_id: 'C0BENCH' },
        channel: { id: 'C0BENCH', name: 'bench' },
        team: { id: 'T0', domain: 'bench' },
        trigger_id: 't',
        actions: [{ action_id: CARD_ACTIONS.startProgress, block_id: 'b', value: `${id}:1`, type: 'button', action_ts: '1.1' }],
      }),
    );
    const click = await Promise.all(
      bodies.map(async (body) => {
        const started = performance.now();
        const answer = await fetch(`${vigil.baseUrl}/slack/events`, {
          method: 'POST',
          headers: slackHeaders(SECRET, body, 'application/x-www-form-urlencoded'),
          body,
        });
        await answer.arrayBuffer();
        if (answer.status !== 200) throw new Error(`click answered ${answer.status}`);
        return performance.now() - started;
      }),
    );
    console.log(`signed click → HTTP ack, ${clicks} concurrent: ${fmt(click)}`);

    // --- 2. delivery: one route (and channel) per alert, alerts sent at `rate` per second.
    for (let i = 0; i < alerts; i += 1) {
      await vigil.api('POST', '/api/routes', { channel: `C0D${i}`, sources: [`bench-d${i}`] });
    }
    const sentAt = new Map<string, number>();
    const sends: Promise<unknown>[] = [];
    const start = performance.now();
    for (let i = 0; i < alerts; i += 1) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const channel = `C0D${i}`;
      sentAt.set(channel, Date.now());
      sends.push(vigil.ingest('generic', { title: `deliver ${i}`, source: `bench-d${i}`, severity: 'high' }).then((r) => r.arrayBuffer()));
    }
    await Promise.all(sends);
    await eventually(
      async () => fake.callsOf('chat.postMessage').filter((call) => String(call.args.channel).startsWith('C0D')).length >= alerts,
      120_000,
      'every card posted',
    );
    const delivery = fake
      .callsOf('chat.postMessage')
      .filter((call) => String(call.args.channel).startsWith('C0D') && call.args.thread_ts === undefined)
      .map((call) => call.at - (sentAt.get(String(call.args.channel)) ?? call.at));
    console.log(`ingest → chat.postMessage at ${rate} alerts/s: ${fmt(delivery)}`);
    return { click, delivery };
  } finally {
    await vigil.close();
    await fake.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  benchSlack().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
