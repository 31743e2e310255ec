/**
 * Microsoft Graph benchmark, against fake Entra ID and fake Graph over HTTP and the real Postgres:
 *  1. pull throughput: 10,000 alerts (BENCH_ALERTS) in pages of 2,000 (each with its device, file and process
 *     evidence), first as new alerts, then all changed in Defender (resolved), then listed again
 *     unchanged (target: at least 1,000 alerts/s into Postgres);
 *  2. write-back latency: from an API status change to the PATCH at the fake Graph, 100 alerts
 *     (target p99 < 1 s), with the outbox relay's default poll (1 s).
 * Each pull also prints the CPU time per alert of this process and of Vigil's Postgres backends,
 * figures a shared machine's load disturbs less than the rate. Run alone: `npx tsx bench/graph.ts`
 * (`BENCH_GRAPH_WORKERS=0` leaves Vigil's workers out, to see the pull's own cost; the write-back
 * part then needs them and is skipped).
 */
import { readFileSync } from 'node:fs';
import { systemClock } from '../src/domain/index.js';
import { EntraTokenClient, GRAPH_SCOPE } from '../src/integrations/microsoft/entra-token.js';
import { GraphApi } from '../src/integrations/microsoft/graph-api.js';
import { pullAlerts } from '../src/jobs/graph-pull.worker.js';
import { createLogger } from '../src/logger.js';
import { FakeEntraToken } from '../test/fakes/entra-token.js';
import { FakeGraph } from '../test/fakes/graph.js';
import { graphTestEnv } from '../test/helpers/graph-env.js';
import { eventually, fixture, startTestVigil } from '../test/helpers/harness.js';
import { cpuMs, fmt, runIfMain, summarize } from './lib.js';

const ALERTS = Number(process.env.BENCH_ALERTS ?? 10_000);
const CLICKS = 100;
const APPLICATION_NAME = `vigil-bench-graph-${process.pid}`;

export async function benchGraph(): Promise<void> {
  const entra = await new FakeEntraToken().start();
  entra.roles.set('https://graph.microsoft.com', ['SecurityAlert.ReadWrite.All']);
  const graph = await new FakeGraph({ entra }).start();
  const vigil = await startTestVigil({
    // BENCH_GRAPH_WORKERS=0: the pull alone, without the card work of the alerts it stores.
    roles: { web: true, worker: process.env.BENCH_GRAPH_WORKERS !== '0' },
    env: { ...graphTestEnv(entra, graph), VIGIL_DB_APPLICATION_NAME: APPLICATION_NAME },
  });
  try {
    const template = JSON.parse(
      readFileSync(fixture('alerts/graph-security/alert.mde-device-file-process-registry.docs.json'), 'utf8'),
    ) as Record<string, unknown>;
    for (let n = 0; n < ALERTS; n += 1)
      graph.putAlert({ ...template, id: `bench-${n}`, title: `Suspicious execution ${n}`, status: 'new' });
    const tokens = new EntraTokenClient({
      authorityUrl: entra.url,
      tenantId: entra.tenantId,
      clientId: entra.clientId,
      clientSecret: entra.clientSecret,
    });
    const api = new GraphApi({ baseUrl: graph.url, bearer: tokens.bearer(GRAPH_SCOPE) });
    const deps = {
      handle: vigil.handle,
      graph: api,
      clock: systemClock,
      logger: createLogger('silent'),
      pollMs: 60_000,
      owner: 'bench',
    };
    const timed = async (what: string) => {
      const cpuBefore = await cpuMs(process.pid, vigil.handle.pool, APPLICATION_NAME);
      const started = performance.now();
      const outcome = await pullAlerts(deps, AbortSignal.timeout(600_000));
      const seconds = (performance.now() - started) / 1000;
      const cpuAfter = await cpuMs(process.pid, vigil.handle.pool, APPLICATION_NAME);
      const items = outcome.kind === 'pulled' ? outcome.items : 0;
      const perAlert = (ms: number) => `${(ms / Math.max(1, items)).toFixed(3)} ms`;
      console.log(
        `graph pull, ${what}: ${items} alerts in ${seconds.toFixed(2)} s = ${Math.round(items / seconds)} alerts/s (target ≥ 1,000/s); ` +
          `CPU per alert: this process ${perAlert(cpuAfter.vigil - cpuBefore.vigil)} (the fake Graph and Vigil's workers too), ` +
          `Vigil's Postgres backends ${perAlert(cpuAfter.postgres - cpuBefore.postgres)}`,
      );
    };
    await timed('new alerts');
    for (let n = 0; n < ALERTS; n += 1)
      graph.changeAlert(`bench-${n}`, { status: 'resolved', classification: 'falsePositive' });
    await timed('all changed in Defender');
    await timed('unchanged (overlapping window)');
    if (process.env.BENCH_GRAPH_WORKERS === '0') return;

    const rows = await vigil.handle.db
      .selectFrom('alerts')
      .select(['id', 'source_id'])
      .where('status', '=', 'resolved')
      .limit(CLICKS)
      .execute();
    const clicked = new Map<string, number>();
    for (const row of rows) {
      clicked.set(row.source_id as string, performance.now());
      await vigil.api('POST', `/api/alerts/${row.id}/status`, { status: 'new' });
    }
    await eventually(
      async () => graph.callsTo('PATCH', /alerts_v2\/bench-/).length >= rows.length,
      60_000,
      'every write-back',
    );
    const latencies: number[] = [];
    for (const call of graph.callsTo('PATCH', /alerts_v2\/bench-/)) {
      const id = decodeURIComponent(call.url.split('/').at(-1) ?? '');
      const at = clicked.get(id);
      if (at !== undefined) latencies.push(call.at - at);
    }
    const { p50, p99, max } = summarize(latencies);
    console.log(
      `graph write-back: status change → PATCH at the fake, ${latencies.length} alerts: p50 ${fmt(p50)}, p99 ${fmt(p99)}, max ${fmt(max)} (target p99 < 1 s)`,
    );
  } finally {
    await vigil.close();
    await graph.stop();
    await entra.stop();
  }
}

runIfMain(import.meta.url, benchGraph);
