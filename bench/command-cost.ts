import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { CARD_ACTIONS } from '../src/bot/card-actions.js';
import { FakeEnrichment } from '../test/fakes/enrichment.js';
import { FakeExecutor } from '../test/fakes/executor.js';
import { FakeSlackApi } from '../test/fakes/slack-api.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../test/helpers/harness.js';
import {
  interactionBody,
  type OpenedView,
  resolveFormValues,
  slackHeaders,
  viewSubmissionBody,
} from '../test/helpers/slack-signing.js';
import {
  BENCH_TOKENS,
  fmt,
  type ProbeReading,
  post,
  runIfMain,
  slackBenchEnv,
  startBenchVigil,
  startVigilProcess,
  summarize,
} from './lib.js';

/**
 * What the command layer costs (issue 13): Postgres queries and CPU time per Slack click and per
 * approval, through the real HTTP path, counted inside the Vigil processes by bench/vigil-probe.mjs.
 * Vigil runs as `vigil web` (the click handlers and their commands) beside `vigil worker` (the
 * pipeline that follows: relay, notify, executor), each counted apart. No alert channel is set, so
 * no card is posted: Slack allows one chat.update per 1.2 s per workspace, and refreshing every
 * card would make each phase wait minutes for that pacer (cards cost the same before and after).
 * Each phase runs until everything the clicks set off has settled (the outbox drained, the
 * executor called), and what an idle process spends in as long (polling) is taken off. Acks are
 * timed at 8 clicks in flight. Approvals are of actions on 100 devices at once, so each needs two
 * people: the first click records, the second runs it. Run alone: `npx tsx bench/command-cost.ts`.
 */

const { ingest: INGEST, api: API, slackSigningSecret: SECRET } = BENCH_TOKENS;
const FIRST = 'U0BENCHA';
const SECOND = 'U0BENCHB';
const CHANNEL = 'C0BENCH';
const CONCURRENCY = 8;
const IDLE_MS = 5_000;

/** What the web and the worker process spent. */
type Cost = Record<'web' | 'worker', ProbeReading>;

export async function benchCommandCost(options: { n?: number; warmUp?: number } = {}): Promise<void> {
  const n = options.n ?? 200;
  const warmUp = options.warmUp ?? 40;
  const fake = await new FakeSlackApi().start();
  const executor = await new FakeExecutor().start();
  const enrichment = await new FakeEnrichment().start();
  enrichment.defaults = { verdict: 'malicious', reason: 'bench', latencyMs: 0 };
  const env = {
    ...slackBenchEnv(fake.url),
    VIGIL_ADMINS: `slack:${FIRST},slack:${SECOND}`,
    VIGIL_EXECUTOR_WEBHOOK_URL: `${executor.url}/webhook`,
    VIGIL_EXECUTOR_WEBHOOK_SECRET: 'executor-secret-0123456789',
  };
  // One web process, so the probe's answer covers every click (several would split them).
  const vigil = await startBenchVigil('cmd', { ...env, VIGIL_WEB_PROCESSES: '1' }, 'web', { probe: true });
  const worker = await startVigilProcess(
    {
      ...env,
      DATABASE_URL: TEST_DATABASE_URL,
      REDIS_URL: TEST_REDIS_URL,
      VIGIL_DB_SCHEMA: vigil.schema,
      VIGIL_QUEUE_PREFIX: vigil.prefix,
    },
    'worker',
    { probe: true },
  );
  const probe = async (): Promise<Cost> => ({ web: await vigil.probe(), worker: await worker.probe() });
  const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  const rows = async (text: string, values: unknown[] = []) =>
    (await pool.query(text.replaceAll('{s}', vigil.schema), values)).rows;
  const count = async (text: string, values: unknown[] = []) => Number((await rows(text, values))[0].n);
  const slack = (body: string) =>
    post(`${vigil.url}/slack/events`, body, slackHeaders(SECRET, body, 'application/x-www-form-urlencoded'));

  /** Waits until `done`, the outbox has drained and neither fake has been called for a second. */
  async function settled(done: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 180_000;
    let calls = -1;
    let quietSince = Date.now();
    for (;;) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      const now = fake.calls.length + executor.calls.length;
      if (now !== calls) {
        calls = now;
        quietSince = Date.now();
      }
      const drained =
        (await count(
          'SELECT count(*) AS n FROM {s}.outbox WHERE completed_at IS NULL AND failed_at IS NULL',
        )) === 0;
      if (drained && Date.now() - quietSince >= 1_000 && (await done())) return;
      await sleep(100);
    }
  }

  /** What each process spent per ms while idle. */
  let idle: Cost = { web: { queries: 0, cpuMs: 0 }, worker: { queries: 0, cpuMs: 0 } };
  /** What Vigil spent running `work` until `done`, less an idle Vigil's share of that time. */
  async function measured(work: () => Promise<void>, done: () => Promise<boolean>, what: string) {
    const before = await probe();
    const started = performance.now();
    await work();
    await settled(done, what);
    const after = await probe();
    const elapsed = performance.now() - started;
    const spent = (process: 'web' | 'worker'): ProbeReading => ({
      queries: after[process].queries - before[process].queries - idle[process].queries * elapsed,
      cpuMs: after[process].cpuMs - before[process].cpuMs - idle[process].cpuMs * elapsed,
    });
    return { web: spent('web'), worker: spent('worker') };
  }

  /** `send` for every item, CONCURRENCY at a time; the answers' times, in item order. */
  async function inFlight<T>(items: readonly T[], send: (item: T) => Promise<number>): Promise<number[]> {
    const times: number[] = new Array(items.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < items.length; i = next++) times[i] = await send(items[i] as T);
      }),
    );
    return times;
  }

  const acked = async (answer: Promise<{ status: number; ms: number }>): Promise<number> => {
    const { status, ms } = await answer;
    if (status !== 200) throw new Error(`Slack request answered ${status}`);
    return ms;
  };
  const click = (user: string, actionId: string, value: string, trigger = 't') =>
    acked(slack(buttonBody(user, actionId, value, trigger)));

  /** Resolve is the button (which opens the form) and the form's submission. */
  async function resolve(alertId: string, index: number): Promise<number> {
    const trigger = `resolve-${index}`;
    const button = await click(FIRST, CARD_ACTIONS.resolve, `${alertId}:2`, trigger);
    const opened = await waitFor(() =>
      fake.callsOf('views.open').find((call) => call.args.trigger_id === trigger),
    );
    const view = opened.args.view as { callback_id: string; private_metadata: string; blocks: unknown[] };
    const submitted = await acked(slack(submissionBody(FIRST, view)));
    return button + submitted;
  }

  try {
    // Alerts to click on, and alerts whose investigation proposes an action needing two approvers.
    const rule = await fetch(`${vigil.url}/api/investigation-rules`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'bench-cmd',
        source: 'bench-act',
        playbook: {
          name: 'One step',
          steps: {
            default: [
              {
                key: 's1',
                provider: 'http',
                params: {
                  url: `${enrichment.url}/lookup/{kind}/{key}`,
                  kinds: ['device'],
                  verdictField: 'data.verdict',
                  retries: 0,
                },
              },
            ],
          },
        },
      }),
    });
    if (rule.status >= 300) throw new Error(`POST /api/investigation-rules answered ${rule.status}`);
    const total = warmUp + n;
    const ingest = async (alerts: unknown[]) => {
      const answer = await fetch(`${vigil.url}/ingest/generic`, {
        method: 'POST',
        headers: { authorization: `Bearer ${INGEST}`, 'content-type': 'application/json' },
        body: JSON.stringify({ alerts }),
      });
      if (answer.status !== 202) throw new Error(`ingest answered ${answer.status}`);
      return ((await answer.json()) as { alerts: { id: string }[] }).alerts.map((alert) => alert.id);
    };
    const clickable = await ingest(
      Array.from({ length: total }, (_, i) => ({
        title: `click ${i}`,
        source: 'bench-click',
        severity: 'high',
        fingerprint: `c${i}`,
      })),
    );
    await ingest(
      Array.from({ length: total }, (_, i) => ({
        title: `act ${i}`,
        source: 'bench-act',
        severity: 'high',
        fingerprint: `a${i}`,
        entities: [{ kind: 'device', id: `dev-${vigil.id}-${i}`, attributes: { deviceCount: 100 } }],
      })),
    );
    const pending = async () =>
      (
        await rows(
          `SELECT id FROM {s}.actions WHERE status = 'pending_approval' AND approvals_needed = 2 ORDER BY number`,
        )
      ).map((row) => row.id as string);
    await settled(async () => (await pending()).length >= total, `${total} actions waiting for approval`);
    const actions = await pending();

    const idleFrom = await probe();
    await sleep(IDLE_MS);
    const idleTo = await probe();
    const perMs = (process: 'web' | 'worker'): ProbeReading => ({
      queries: (idleTo[process].queries - idleFrom[process].queries) / IDLE_MS,
      cpuMs: (idleTo[process].cpuMs - idleFrom[process].cpuMs) / IDLE_MS,
    });
    idle = { web: perMs('web'), worker: perMs('worker') };

    // Warm-up (JIT, pools, kept-alive sockets), let settle, then the same again measured.
    const inStatus = (ids: readonly string[], status: string) => async () =>
      (await count(`SELECT count(*) AS n FROM {s}.alerts WHERE id = ANY($1) AND status = $2`, [
        ids,
        status,
      ])) === ids.length;
    const decisions = (ids: readonly string[]) =>
      count('SELECT count(*) AS n FROM {s}.action_decisions WHERE action_id = ANY($1)', [ids]);
    const executed = (ids: readonly string[]) => async () =>
      ids.every((id) => executor.callsWithKey(`vigil-action-${id}`).length > 0);

    const results: { what: string; cost: Cost; acks: number[] }[] = [];
    for (const [phase, from, to] of [
      ['warm-up', 0, warmUp],
      ['measured', warmUp, total],
    ] as const) {
      const alerts = clickable.slice(from, to);
      const toDecide = actions.slice(from, to);
      let acks: number[] = [];
      const progress = await measured(
        async () => {
          acks = await inFlight(alerts, (id) => click(FIRST, CARD_ACTIONS.startProgress, `${id}:1`));
        },
        inStatus(alerts, 'in_progress'),
        'every alert in progress',
      );
      if (phase === 'measured') results.push({ what: 'Mark in progress (one click)', cost: progress, acks });
      const resolved = await measured(
        async () => {
          acks = await inFlight(
            alerts.map((id, i) => [id, from + i] as const),
            ([id, i]) => resolve(id, i),
          );
        },
        inStatus(alerts, 'resolved'),
        'every alert resolved',
      );
      if (phase === 'measured')
        results.push({ what: 'Resolve (button, then form; acks summed)', cost: resolved, acks });
      const first = await measured(
        async () => {
          acks = await inFlight(toDecide, (id) => click(FIRST, CARD_ACTIONS.approve, id));
        },
        async () => (await decisions(toDecide)) === toDecide.length,
        'every first approval recorded',
      );
      if (phase === 'measured')
        results.push({ what: 'First approval of two (recorded, told)', cost: first, acks });
      const toExecutor: number[] = [];
      const second = await measured(
        async () => {
          acks = await inFlight(toDecide, async (id) => {
            const started = performance.now();
            const called = executor.nextCall((call) => call.idempotencyKey === `vigil-action-${id}`);
            const ack = await click(SECOND, CARD_ACTIONS.approve, id);
            await called;
            toExecutor.push(performance.now() - started);
            return ack;
          });
        },
        executed(toDecide),
        'every action run',
      );
      if (phase === 'measured') {
        results.push({ what: 'Second approval (approved, runs)', cost: second, acks });
        const s = summarize(toExecutor);
        const each = (reading: ProbeReading) =>
          `${(reading.queries / n).toFixed(2)} queries, ${(reading.cpuMs / n).toFixed(2)} CPU ms`;
        const perSecond = (reading: ProbeReading) =>
          `${(reading.queries * 1000).toFixed(1)} queries/s, ${(reading.cpuMs * 1000).toFixed(1)} CPU ms/s`;
        console.log(
          `\n## Command-layer cost (vigil web + vigil worker, ${n} of each, ${CONCURRENCY} in flight; idle share taken off: web ${perSecond(idle.web)}, worker ${perSecond(idle.worker)})`,
        );
        for (const result of results) {
          const a = summarize(result.acks);
          console.log(
            `${result.what}: web ${each(result.cost.web)}; worker ${each(result.cost.worker)}; ack p50 ${fmt(a.p50)}, p99 ${fmt(a.p99)}`,
          );
        }
        console.log(`second approval click → executor request: p50 ${fmt(s.p50)}, p99 ${fmt(s.p99)}`);
      }
    }
  } finally {
    await pool.end();
    await worker.stop();
    await vigil.stop();
    await enrichment.stop();
    await executor.stop();
    await fake.stop();
  }
}

async function waitFor<T>(find: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error('timed out waiting for Slack to be called');
    await sleep(10);
  }
}

const buttonBody = (user: string, actionId: string, value: string, trigger: string): string =>
  interactionBody({
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0' },
    container: { type: 'message', message_ts: '1.1', channel_id: CHANNEL },
    channel: { id: CHANNEL, name: 'bench' },
    team: { id: 'T0', domain: 'bench' },
    trigger_id: trigger,
    actions: [{ action_id: actionId, block_id: 'b', value, type: 'button', action_ts: '1.1' }],
  });

const submissionBody = (user: string, view: OpenedView): string =>
  viewSubmissionBody(
    view,
    resolveFormValues({ text: 'False positive', value: 'false_positive' }, 'bench'),
    user,
    {
      teamId: 'T0',
    },
  );

runIfMain(import.meta.url, benchCommandCost);
