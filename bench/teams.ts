/**
 * Teams invoke latency: 100 concurrent `adaptiveCard/action` invokes (Mark in progress) against
 * one in-process Vigil (web + workers) on the real Postgres and Redis, measured from the POST to
 * the invoke response with the refreshed card. Teams waits about 5 s for that answer.
 *
 *   npx tsx bench/teams.ts
 */
import { FakeBotConnector } from '../test/fakes/bot-connector.js';
import { startTestVigil } from '../test/helpers/harness.js';
import { fmt, summarize } from './lib.js';

const CONCURRENCY = 100;
const ROUNDS = 3;
const ADMIN = '7a9b12a6-4f02-43f1-b6f9-fd10e047f903';

const connector = await new FakeBotConnector().start();
const vigil = await startTestVigil({
  env: { VIGIL_TEAMS_DEV: '1', VIGIL_ADMINS: `teams:${ADMIN}`, LOG_LEVEL: 'silent' },
});

const invoke = (alertId: string, version: number) => ({
  type: 'invoke',
  name: 'adaptiveCard/action',
  channelId: 'msteams',
  id: `f:${alertId}`,
  serviceUrl: connector.url,
  from: { id: '29:bench', name: 'Bench User', aadObjectId: ADMIN },
  recipient: { id: '28:vigil', name: 'Vigil' },
  conversation: { id: '19:bench@thread.tacv2', conversationType: 'channel', tenantId: 'tenant' },
  value: {
    action: { type: 'Action.Execute', verb: 'alert.start_progress', data: { alertId, version } },
    trigger: 'manual',
  },
});

async function timedInvoke(body: unknown): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${vigil.baseUrl}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { type?: string };
  if (response.status !== 200 || answer.type !== 'application/vnd.microsoft.card.adaptive') {
    throw new Error(`unexpected answer ${response.status} ${JSON.stringify(answer).slice(0, 200)}`);
  }
  return performance.now() - started;
}

async function ingestMany(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 20) {
    const answers = await Promise.all(
      Array.from({ length: Math.min(20, n - i) }, (_, j) =>
        vigil.ingest('generic', {
          title: `Bench alert ${i + j}`,
          severity: 'high',
          source: 'bench',
          id: `bench-${Date.now()}-${i + j}`,
        }),
      ),
    );
    for (const answer of answers)
      ids.push(((await answer.json()) as { alerts: { id: string }[] }).alerts[0]?.id as string);
  }
  return ids;
}

try {
  // Warm-up: connections, JIT, prepared plans.
  await Promise.all((await ingestMany(20)).map((id) => timedInvoke(invoke(id, 1))));

  const distinct: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const ids = await ingestMany(CONCURRENCY);
    distinct.push(...(await Promise.all(ids.map((id) => timedInvoke(invoke(id, 1))))));
  }
  // Everyone clicking the same card: the row lock serialises them; all but one find it already done.
  const [hot] = await ingestMany(1);
  const same = await Promise.all(
    Array.from({ length: CONCURRENCY }, () => timedInvoke(invoke(hot as string, 1))),
  );

  const a = summarize(distinct);
  const b = summarize(same);
  console.log(
    `Teams invoke -> response, ${CONCURRENCY} concurrent (DB pool ${vigil.handle.pool.options.max}):`,
  );
  console.log(
    `  distinct alerts (${distinct.length} invokes): p50 ${fmt(a.p50)}  p99 ${fmt(a.p99)}  max ${fmt(a.max)}`,
  );
  console.log(
    `  one alert       (${same.length} invokes):  p50 ${fmt(b.p50)}  p99 ${fmt(b.p99)}  max ${fmt(b.max)}`,
  );
} finally {
  await vigil.close();
  await connector.stop();
}
