/**
 * Teams invoke latency: 100 concurrent `adaptiveCard/action` invokes (Mark in progress) against
 * `vigil serve` in its own process on the real Postgres and Redis, measured from the POST to the
 * invoke response carrying the refreshed card. Teams waits about 5 s for that answer.
 *
 *   npx tsx bench/teams.ts
 */
import { randomBytes } from 'node:crypto';
import { FakeBotConnector } from '../test/fakes/bot-connector.js';
import { fmt, post, runIfMain, startBenchVigil, summarize } from './lib.js';

const CONCURRENCY = 100;
const ROUNDS = 3;
const ADMIN = '7a9b12a6-4f02-43f1-b6f9-fd10e047f903';
const INGEST = 'bench-ingest-token-0123456789';

export async function benchTeams(): Promise<void> {
  const connector = await new FakeBotConnector().start();
  const vigil = await startBenchVigil('teams', {
    VIGIL_INGEST_TOKEN: INGEST,
    VIGIL_INGEST_RATE_LIMIT: '1000000',
    VIGIL_TEAMS_DEV: '1',
    VIGIL_ADMINS: `teams:${ADMIN}`,
  });
  const { id } = vigil;

  const invoke = (alertId: string, version: number) =>
    JSON.stringify({
      type: 'invoke',
      name: 'adaptiveCard/action',
      channelId: 'msteams',
      id: `f:${alertId}:${randomBytes(3).toString('hex')}`,
      serviceUrl: connector.url,
      from: { id: '29:bench', name: 'Bench User', aadObjectId: ADMIN },
      recipient: { id: '28:vigil', name: 'Vigil' },
      conversation: { id: '19:bench@thread.tacv2', conversationType: 'channel', tenantId: 'tenant' },
      value: {
        action: { type: 'Action.Execute', verb: 'alert.start_progress', data: { alertId, version } },
        trigger: 'manual',
      },
    });

  const invokeAll = async (bodies: readonly string[]) => {
    const answers = await Promise.all(bodies.map((body) => post(`${vigil.url}/api/messages`, body, {})));
    if (answers.some((answer) => answer.status !== 200))
      throw new Error('an invoke was not answered with 200');
    return answers.map((answer) => answer.ms);
  };

  const ingestMany = async (n: number): Promise<string[]> => {
    const response = await fetch(`${vigil.url}/ingest/generic`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        alerts: Array.from({ length: n }, (_, i) => ({
          title: `Bench alert ${i}`,
          severity: 'high',
          source: 'bench',
          id: `${id}-${Date.now()}-${i}`,
        })),
      }),
    });
    return ((await response.json()) as { alerts: { id: string }[] }).alerts.map((alert) => alert.id);
  };

  try {
    // Warm-up: sockets, JIT, prepared plans.
    await invokeAll((await ingestMany(CONCURRENCY)).map((alertId) => invoke(alertId, 1)));
    const distinct: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const ids = await ingestMany(CONCURRENCY);
      await new Promise((resolve) => setTimeout(resolve, 500)); // let the new alerts' notify jobs pass
      distinct.push(...(await invokeAll(ids.map((alertId) => invoke(alertId, 1)))));
    }
    // Everyone clicking the same card: the row lock serialises them; all but one find it already done.
    const [hot] = await ingestMany(1);
    const same = await invokeAll(Array.from({ length: CONCURRENCY }, () => invoke(hot as string, 1)));
    const a = summarize(distinct);
    const b = summarize(same);
    console.log(`\n## Teams\ninvoke → response, ${CONCURRENCY} concurrent, vigil serve in its own process:`);
    console.log(
      `  distinct alerts (${distinct.length} invokes): p50 ${fmt(a.p50)}, p99 ${fmt(a.p99)}, max ${fmt(a.max)}`,
    );
    console.log(
      `  one alert (${same.length} invokes): p50 ${fmt(b.p50)}, p99 ${fmt(b.p99)}, max ${fmt(b.max)}`,
    );
  } finally {
    await vigil.stop();
    await connector.stop();
  }
}

runIfMain(import.meta.url, benchTeams);
