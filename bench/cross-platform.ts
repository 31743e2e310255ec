/**
 * One click, every card: a Mark in progress invoke from Teams, timed until the alert's Slack card
 * has received its `chat.update` and its Teams card its PUT, both fakes answering at once.
 * Clicks are spaced by Slack's chat.update pace (Tier 3, one per 1.2 s per workspace), since a
 * burst would measure the pacing rather than the pipeline. `vigil serve` runs in its own process.
 *
 *   npx tsx bench/cross-platform.ts
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CARD_ACTIONS } from '../src/bot/card-actions.js';
import { FakeBotConnector } from '../test/fakes/bot-connector.js';
import { FakeSlackApi } from '../test/fakes/slack-api.js';
import { eventually } from '../test/helpers/harness.js';
import { fmt, post, runIfMain, startBenchVigil, summarize } from './lib.js';

const CLICKS = 20;
const SLACK_CHANNEL = 'C0BENCH';
const TEAMS_ADMIN = '7a9b12a6-4f02-43f1-b6f9-fd10e047f903';
const TEAMS_CHANNEL = '19:bench@thread.tacv2';
const BOT = { id: '28:vigil-bench', name: 'Vigil' };
const INGEST = 'bench-ingest-token-0123456789';

export async function benchCrossPlatform(): Promise<void> {
  const slack = await new FakeSlackApi().start();
  const teams = await new FakeBotConnector().start();
  const vigil = await startBenchVigil('x', {
    VIGIL_INGEST_TOKEN: INGEST,
    SLACK_BOT_TOKEN: 'xoxb-bench',
    SLACK_SIGNING_SECRET: 'bench-signing-secret',
    SLACK_API_URL: slack.url,
    SLACK_ALERT_CHANNEL: SLACK_CHANNEL,
    VIGIL_TEAMS_DEV: '1',
    VIGIL_ADMINS: `teams:${TEAMS_ADMIN}`,
  });
  const { id } = vigil;
  const activity = (body: Record<string, unknown>) =>
    post(
      `${vigil.url}/api/messages`,
      JSON.stringify({
        channelId: 'msteams',
        serviceUrl: teams.url,
        recipient: BOT,
        from: { id: '29:bench', name: 'Bench', aadObjectId: TEAMS_ADMIN },
        conversation: { id: TEAMS_CHANNEL, conversationType: 'channel', isGroup: true, tenantId: 'tenant' },
        channelData: { team: { id: 'team' }, channel: { id: TEAMS_CHANNEL }, tenant: { id: 'tenant' } },
        ...body,
      }),
      {},
    );
  try {
    await activity({ type: 'conversationUpdate', membersAdded: [{ id: BOT.id }] });
    await activity({ type: 'message', id: '1', text: `<at>${BOT.name}</at> subscribe` });
    const response = await fetch(`${vigil.url}/ingest/generic`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        alerts: Array.from({ length: CLICKS }, (_, i) => ({
          title: `Cross ${i}`,
          severity: 'high',
          source: 'bench',
          id: `${id}-${i}`,
        })),
      }),
    });
    const ids = ((await response.json()) as { alerts: { id: string }[] }).alerts.map((alert) => alert.id);
    // Every alert's first cards, posted at Slack's one-per-second channel pace.
    await eventually(
      async () =>
        slack.callsOf('chat.postMessage').filter((call) => call.args.channel === SLACK_CHANNEL).length >=
          CLICKS &&
        teams.calls.filter((call) => call.method === 'POST' && call.conversationId === TEAMS_CHANNEL)
          .length >= CLICKS,
      120_000,
      'the first cards on both platforms',
    );
    await sleep(1_500);
    const latencies: number[] = [];
    for (const alertId of ids) {
      const slackBefore = slack.callsOf('chat.update').length;
      const teamsBefore = teams.calls.filter((call) => call.method === 'PUT').length;
      const started = performance.now();
      await activity({
        type: 'invoke',
        name: 'adaptiveCard/action',
        id: `i-${alertId}`,
        value: {
          action: { type: 'Action.Execute', verb: CARD_ACTIONS.startProgress, data: { alertId, version: 1 } },
        },
      });
      while (
        slack.callsOf('chat.update').length <= slackBefore ||
        teams.calls.filter((call) => call.method === 'PUT').length <= teamsBefore
      ) {
        if (performance.now() - started > 10_000) throw new Error('a card was not updated within 10 s');
        await sleep(2);
      }
      latencies.push(performance.now() - started);
      await sleep(1_300);
    }
    const s = summarize(latencies);
    console.log(
      `\n## Both platforms\none Teams click → Slack chat.update and Teams PUT of that alert's cards (${CLICKS} clicks, 1.3 s apart): p50 ${fmt(s.p50)}, p99 ${fmt(s.p99)}, max ${fmt(s.max)}`,
    );
  } finally {
    await vigil.stop();
    await slack.stop();
    await teams.stop();
  }
}

runIfMain(import.meta.url, benchCrossPlatform);
