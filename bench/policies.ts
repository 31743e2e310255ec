/**
 * Policies benchmark:
 *  1. evaluation cost per alert with 1,000 enabled policies (index by source and severity,
 *     precompiled matchers): mean and p99 over 20,000 alerts, in process (target < 1 ms);
 *  2. escalation: the spread between a step's due time and its direct message at the fake Slack
 *     API, for 100 pages whose second level is due 3 s after the first (p99 target < 1 s), with
 *     the outbox relay's default poll (1 s) and with a 200 ms poll.
 * Uses the real Postgres 'test' database and Redis, like the tests. Run alone: `npx tsx bench/policies.ts`.
 */
import { sql } from 'kysely';
import {
  type AlertEntity,
  decidePolicies,
  ENTITY_KINDS,
  type Policy,
  PolicyIndex,
  type PolicySubject,
  SEVERITIES,
} from '../src/domain/index.js';
import { applyPoliciesFile } from '../src/storage/policy.repository.js';
import { FakeSlackApi } from '../test/fakes/slack-api.js';
import { eventually, startTestVigil } from '../test/helpers/harness.js';
import { fmt, runIfMain, summarize } from './lib.js';

const SOURCES = [
  'graph',
  'alertmanager',
  'grafana',
  'pagerduty',
  'generic',
  'edr',
  'idp',
  'waf',
  'dlp',
  'casb',
];

/** A deterministic pseudo-random sequence, so every run measures the same policies and alerts. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

function policies(count: number): Policy[] {
  const next = random(42);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  return Array.from({ length: count }, (_, i) => ({
    id: `p${i}`,
    name: `policy ${i}`,
    version: 1,
    enabled: true,
    position: i,
    conditions: {
      ...(next() < 0.8 ? { sources: [pick(SOURCES)] } : {}),
      severityAtLeast: pick(SEVERITIES),
      labels: [
        { name: 'team', op: '=~', value: `${pick(['identity', 'network', 'endpoint', 'cloud'])}|sec.*` },
        { name: 'env', op: next() < 0.5 ? '=' : '!=', value: pick(['prod', 'dev', 'lab']) },
      ],
      ...(next() < 0.3 ? { entities: [{ kind: pick(ENTITY_KINDS), key: `*${i % 50}*` }] } : {}),
      ...(next() < 0.1 ? { oauthApp: { permissionsAny: ['Mail.ReadWrite'], publisherVerified: false } } : {}),
    },
    actions: [
      { type: 'route', slack: [`C0${i % 100}`] },
      ...(next() < 0.1 ? [{ type: 'page' as const, escalationPolicy: 'sec' }] : []),
    ],
  }));
}

function subjects(count: number): PolicySubject[] {
  const next = random(7);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  return Array.from({ length: count }, (_, i) => ({
    source: pick(SOURCES),
    severity: pick(SEVERITIES),
    category: pick(['InitialAccess', 'Execution', null]),
    labels: {
      team: pick(['identity', 'network', 'secops', 'finance']),
      env: pick(['prod', 'dev', 'lab']),
      host: `host-${i}`,
    },
    entities: Array.from(
      { length: 1 + Math.floor(next() * 4) },
      (_, j): AlertEntity => ({
        kind: pick(ENTITY_KINDS),
        key: `key-${i}-${j}`,
        displayName: '',
        roles: [],
        attributes: {},
      }),
    ),
  }));
}

async function benchEvaluation(): Promise<void> {
  const index = new PolicyIndex(policies(1_000));
  const alerts = subjects(20_000);
  let matched = 0;
  for (const alert of alerts.slice(0, 2_000)) matched += decidePolicies(index.match(alert)).matched.length; // warm-up
  matched = 0;
  const latencies: number[] = [];
  const started = performance.now();
  for (const alert of alerts) {
    const t = performance.now();
    matched += decidePolicies(index.match(alert)).matched.length;
    latencies.push(performance.now() - t);
  }
  const mean = (performance.now() - started) / alerts.length;
  const { p50, p99, max } = summarize(latencies);
  console.log(
    `policies: evaluation with ${index.size} enabled policies, ${alerts.length} alerts: mean ${(mean * 1000).toFixed(1)} µs, p50 ${(p50 * 1000).toFixed(1)} µs, p99 ${(p99 * 1000).toFixed(1)} µs, max ${fmt(max)} per alert (${(matched / alerts.length).toFixed(1)} matches per alert; target < 1 ms)`,
  );
}

async function benchEscalation(pollMs: number | undefined): Promise<void> {
  const slack = await new FakeSlackApi().start();
  const vigil = await startTestVigil({
    env: {
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: 'bench-signing-secret',
      SLACK_API_URL: slack.url,
      SLACK_ALERT_CHANNEL: 'C0BENCH',
    },
    ...(pollMs === undefined ? {} : { relayTimings: { pollMs } }),
  });
  try {
    const pages = 100;
    await applyPoliciesFile(
      vigil.handle,
      {
        policies: [
          {
            name: 'page',
            enabled: true,
            conditions: { severityAtLeast: 'critical' },
            actions: [{ type: 'page', escalationPolicy: 'sec' }],
          },
        ],
        schedules: [],
        escalationPolicies: [
          {
            name: 'sec',
            repeat: 0,
            levels: [
              {
                targets: [{ type: 'person', person: { name: 'First', slack: 'U0FIRST' } }],
                waitMinutes: 0.05,
              },
              {
                targets: [{ type: 'person', person: { name: 'Second', slack: 'U0SECOND' } }],
                waitMinutes: 1,
              },
            ],
          },
        ],
      },
      { kind: 'system' },
      new Date(),
      { dryRun: false },
    );
    // Spread over about 2 s, in batches of 10, as a busy afternoon would.
    for (let batch = 0; batch < pages / 10; batch += 1) {
      const alerts = Array.from({ length: 10 }, (_, i) => ({
        title: `bench page ${batch * 10 + i}`,
        severity: 'critical',
        source: 'edr',
        id: `${batch}-${i}-${Math.random()}`,
      }));
      const response = await vigil.ingest('generic', { alerts });
      if (response.status !== 202) throw new Error(`ingest answered ${response.status}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await eventually(
      async () =>
        slack.callsOf('chat.postMessage').filter((c) => c.args.channel === 'U0SECOND').length >= pages,
      60_000,
      'every second-level DM',
    );
    const due = await sql<{ title: string; due_at: Date }>`SELECT a.title, s.due_at FROM page_steps s
      JOIN pages p ON p.id = s.page_id JOIN alerts a ON a.id = p.alert_id WHERE s.step_no = 1`.execute(
      vigil.handle.db,
    );
    const spreads: number[] = [];
    for (const call of slack.callsOf('chat.postMessage').filter((c) => c.args.channel === 'U0SECOND')) {
      const row = due.rows.find((r) => String(call.args.text).includes(`${r.title}\n`));
      if (row !== undefined) spreads.push(call.at - row.due_at.getTime());
    }
    const { p50, p99, max } = summarize(spreads);
    console.log(
      `policies: escalation step due → DM at the fake, ${spreads.length} pages, relay poll ${pollMs ?? 1000} ms: p50 ${fmt(p50)}, p99 ${fmt(p99)}, max ${fmt(max)} (target p99 < 1 s)`,
    );
  } finally {
    await vigil.close();
    await slack.stop();
  }
}

export async function benchPolicies(): Promise<void> {
  await benchEvaluation();
  await benchEscalation(undefined);
  await benchEscalation(200);
}

runIfMain(import.meta.url, benchPolicies);
