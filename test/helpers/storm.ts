import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { percentile, summarize } from '../../bench/lib.js';
import { type AlertStatus, STATUS_LABELS } from '../../src/domain/index.js';
import { freePort } from '../../src/storage/embedded-postgres.js';
import { type FakeMessage, FakeSlackApi } from '../fakes/slack-api.js';
import { TEST_DATABASE_URL } from './harness.js';
import { KillableRedis, ProcessGroup, type VigilProcess } from './processes.js';

/**
 * An alert storm against a scaled-out Vigil (two `vigil web`, two `vigil worker`, one Postgres
 * database and one redis-server of its own, a slow fake Slack), with the faults of a bad night:
 * kill -9 of a worker and of a web process (each replaced, as a supervisor would), Redis killed
 * and started again empty, and every Vigil connection to Postgres terminated. Then it checks
 * what a user relies on. Shared by the fault test (short) and `npm run bench` (long).
 */
export interface StormOptions {
  readonly fingerprints: number;
  readonly channels: number;
  readonly ratePerSecond: number;
  /** The storm lasts at least this long, and until every fault has been dealt. */
  readonly seconds: number;
  /** How long to wait, after the storm, for every card to show its alert's latest state. */
  readonly settleTimeoutMs: number;
  /** How long the fake Slack takes to answer. @defaultValue 75 */
  readonly slackLatencyMs?: number;
  /** More environment for every Vigil process (defaults otherwise). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Invariants a storm must not break, each with what broke it (empty: held). */
export interface StormProblems {
  /** Every accepted alert stored exactly once, one alert per fingerprint. */
  readonly stored: string[];
  /** Every alert has exactly one card, in the channel its route names. */
  readonly cards: string[];
  /** Every card shows its alert's occurrence count and status. */
  readonly current: string[];
  /** No outbox row left unfinished or failed. */
  readonly outbox: string[];
  /** No process ended unless the storm killed it. */
  readonly exits: string[];
  /** Cards in one channel about a second apart, but for one early post after the Redis wipe. */
  readonly pacing: string[];
}

export interface StormReport {
  readonly sent: number;
  readonly accepted: number;
  /** Requests without a 202: refused, or cut off by a killed process (stored or not, nobody knows). */
  readonly notAccepted: number;
  /** Latency of the accepted requests, all sent while the faults happened. */
  readonly ingestMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly alerts: number;
  /** From the storm's end until every alert had a card; null if that never happened. */
  readonly allPostedAfterMs: number | null;
  /** From the storm's end until every card showed its alert's latest state. */
  readonly allCurrentAfterMs: number | null;
  /** Alerts stored with fewer occurrences than were accepted, or accepted and missing. */
  readonly lostOccurrences: number;
  readonly duplicateCards: number;
  /** Time between two cards in one channel, as the fake Slack received them. */
  readonly cardGapsMs: { readonly min: number; readonly p1: number; readonly p50: number };
  /** What the storm did when, in seconds from its start. */
  readonly timeline: readonly string[];
  readonly problems: StormProblems;
}

const INGEST_TOKEN = 'storm-ingest-token-0123456789';
const API_TOKEN = 'storm-api-token-0123456789abcdef';
const SCHEMA = 'vigil';
/** Faults, as fractions of the storm's planned length; each waits for the previous one's replacement. */
const FAULTS_AT = { worker: 0.2, web: 0.35, redis: 0.5, postgres: 0.7 } as const;
/** Slack's chat.postMessage pace: about one card a second per channel. */
const POST_INTERVAL_MS = 1_000;
/**
 * How late a card may reach Slack after its pacing slot: Vigil takes the slot right before the
 * call, but a busy event loop on a loaded machine delays the call (the bench saw neighbours 720 ms
 * apart). Pacing is judged on spans of posts, so this slack is spent once per span, not per card.
 */
const ARRIVAL_JITTER_MS = 500;
/** The storm goes on this long after the last fault, so ingest and delivery meet the recovering processes. */
const AFTER_FAULTS_MS = 2_000;
/** A replacement for a process that died on its own, as systemd's Restart=always would, within reason. */
const MAX_RESTARTS = 5;

const channelOf = (fingerprint: number, channels: number) => `C0STORM${fingerprint % channels}`;
const titleOf = (fingerprint: number) => `Storm alert ${fingerprint}`;
const fingerprintOfTitle = (title: string) => Number(/^Storm alert (\d+)$/.exec(title)?.[1] ?? Number.NaN);

interface Outcome {
  readonly fingerprint: number;
  /** The HTTP status, or null when the connection broke or timed out. */
  readonly status: number | null;
  readonly ms: number;
}

interface StoredAlert {
  readonly id: string;
  readonly title: string;
  readonly status: AlertStatus;
  readonly occurrence_count: number;
}

/** What a card in the fake Slack shows, read from its blocks as Slack would draw them. */
interface ShownCard {
  readonly channel: string;
  readonly alertId: string | null;
  readonly occurrences: number | null;
  readonly status: string | null;
}

export class StormRig {
  readonly group = new ProcessGroup();
  private readonly runId = `storm_${randomBytes(4).toString('hex')}`;
  private readonly slack = new FakeSlackApi();
  private redis: KillableRedis | null = null;
  private redisDir: string | null = null;
  private probe: pg.Pool | null = null;
  private databaseCreated = false;
  private readonly webs: VigilProcess[] = [];
  private readonly workers: VigilProcess[] = [];
  private readonly started = { web: 0, worker: 0 };
  private readonly timeline: string[] = [];
  private readonly exits: string[] = [];
  private restarts = 0;
  private closing = false;
  private stormStart = 0;
  /** The storm's start as Date.now(), the fake Slack's clock. */
  private stormStartEpoch = 0;
  private faultsOverAt: number | null = null;

  constructor(readonly options: StormOptions) {
    this.slack.latencyMs = options.slackLatencyMs ?? 75;
  }

  /** The database, Redis, fake Slack, two processes of each role, and a route per channel. */
  async start(): Promise<void> {
    await this.admin(`CREATE DATABASE "${this.runId}"`);
    this.databaseCreated = true;
    this.probe = new pg.Pool({
      connectionString: this.databaseUrl(),
      application_name: `${this.runId}-probe`,
      max: 2,
    });
    this.probe.on('error', () => {});
    this.redisDir = await mkdtemp(path.join(tmpdir(), 'vigil-storm-redis-'));
    this.redis = new KillableRedis(this.group, await freePort(), this.redisDir);
    await this.redis.start();
    await this.slack.start();
    // The first web process migrates alone; the rest then start together.
    await this.startVigil('web');
    await Promise.all([this.startVigil('web'), this.startVigil('worker'), this.startVigil('worker')]);
    const [web] = this.webs;
    for (let channel = 0; channel < this.options.channels; channel += 1) {
      const response = await fetch(`${web?.url}/api/routes`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          channel: channelOf(channel, this.options.channels),
          sources: [`storm-c${channel}`],
        }),
      });
      if (response.status !== 201) throw new Error(`POST /api/routes answered ${response.status}`);
    }
  }

  /** Runs the storm and its faults, waits for the cards to settle, and checks everything. */
  async run(): Promise<StormReport> {
    this.stormStart = performance.now();
    this.stormStartEpoch = Date.now();
    let faultsDone = false;
    const faults = this.faults().finally(() => {
      faultsDone = true;
      this.faultsOverAt = performance.now();
    });
    const outcomes = await this.storm(() => faultsDone);
    await faults;
    const stormEnd = performance.now();
    this.note('storm over');

    let allPostedAfterMs: number | null = null;
    let allCurrentAfterMs: number | null = null;
    for (;;) {
      const { alerts, cards } = await this.observe().catch(() => ({ alerts: [], cards: [] }));
      const shown = new Map(cards.map((card) => [card.alertId, card]));
      const posted = alerts.length > 0 && alerts.every((alert) => shown.has(alert.id));
      const current = posted && alerts.every((alert) => isCurrent(shown.get(alert.id), alert));
      if (posted) allPostedAfterMs ??= performance.now() - stormEnd;
      if (current) allCurrentAfterMs ??= performance.now() - stormEnd;
      const unfinished = current ? await this.unfinishedOutbox().catch(() => null) : null;
      if (unfinished?.unfinished === 0) break;
      if (performance.now() - stormEnd > this.options.settleTimeoutMs) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return this.report(outcomes, allPostedAfterMs, allCurrentAfterMs);
  }

  /** The last output of every process, for a failed run. */
  diagnostics(): string {
    return `${this.timeline.join('\n')}\n${this.group.diagnostics()}`;
  }

  /** Kills every process, drops the database, stops the fake: safe to call after any failure. */
  async close(): Promise<void> {
    this.closing = true;
    await this.group.killAll();
    await this.slack.stop().catch(() => {});
    await this.probe?.end().catch(() => {});
    if (this.databaseCreated) await this.admin(`DROP DATABASE IF EXISTS "${this.runId}" WITH (FORCE)`);
    if (this.redisDir !== null) await rm(this.redisDir, { recursive: true, force: true });
  }

  // --- the storm and its faults

  private async storm(faultsDone: () => boolean): Promise<Outcome[]> {
    const { ratePerSecond, seconds, fingerprints } = this.options;
    const inFlight: Promise<Outcome>[] = [];
    for (let i = 0; ; i += 1) {
      const due = this.stormStart + (i * 1000) / ratePerSecond;
      if (due - this.stormStart >= seconds * 1000 && faultsDone() && this.faultsOverSince() > AFTER_FAULTS_MS)
        break;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const web = this.webs[i % Math.max(1, this.webs.length)];
      inFlight.push(this.send(web?.url ?? null, i % fingerprints));
    }
    return Promise.all(inFlight);
  }

  private faultsOverSince(): number {
    return this.faultsOverAt === null ? 0 : performance.now() - this.faultsOverAt;
  }

  private async send(url: string | null, fingerprint: number): Promise<Outcome> {
    const started = performance.now();
    const channel = fingerprint % this.options.channels;
    try {
      if (url === null) throw new Error('no web process');
      const response = await fetch(`${url}/ingest/generic`, {
        method: 'POST',
        headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          title: titleOf(fingerprint),
          source: `storm-c${channel}`,
          fingerprint: `fp-${fingerprint}`,
          severity: 'high',
          entities: [{ kind: 'device', id: `storm-host-${fingerprint}` }],
        }),
        signal: AbortSignal.timeout(30_000),
      });
      // The whole answer counts: a 202 is only known once its body is in.
      await response.arrayBuffer();
      return { fingerprint, status: response.status, ms: performance.now() - started };
    } catch {
      return { fingerprint, status: null, ms: performance.now() - started };
    }
  }

  private async faults(): Promise<void> {
    const at = async (fraction: number) => {
      const wait = this.stormStart + fraction * this.options.seconds * 1000 - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    };
    await at(FAULTS_AT.worker);
    await this.killAndReplace(this.workers);
    await at(FAULTS_AT.web);
    await this.killAndReplace(this.webs);
    await at(FAULTS_AT.redis);
    await this.redis?.kill();
    this.note('redis-server killed (SIGKILL)');
    await this.redis?.start();
    this.note('redis-server started again, empty');
    await at(FAULTS_AT.postgres);
    const terminated = await this.probe?.query<{ count: string }>(
      `SELECT count(pg_terminate_backend(pid)) AS count FROM pg_stat_activity
        WHERE datname = $1 AND starts_with(application_name, $2)`,
      [this.runId, `${this.runId}-vigil-`],
    );
    this.note(`terminated ${terminated?.rows[0]?.count} Postgres connections of the Vigil processes`);
  }

  /** kill -9 of the oldest process of a role, then a replacement, as a supervisor would start. */
  private async killAndReplace(processes: VigilProcess[]): Promise<void> {
    const victim = processes.shift();
    if (victim === undefined) return;
    await victim.kill('SIGKILL');
    this.note(`${victim.name} killed (SIGKILL)`);
    const replacement = await this.startVigil(victim.role);
    this.note(`${replacement.name} ready`);
  }

  private async startVigil(role: 'web' | 'worker'): Promise<VigilProcess> {
    this.started[role] += 1;
    const name = `${role}-${this.started[role]}`;
    const env: Record<string, string> = {
      DATABASE_URL: this.databaseUrl(),
      // Each process's connections by name, so the storm terminates exactly those.
      VIGIL_DB_APPLICATION_NAME: `${this.runId}-vigil-${name}`,
      VIGIL_DB_SCHEMA: SCHEMA,
      REDIS_URL: this.redis?.url ?? '',
      VIGIL_QUEUE_PREFIX: 'storm',
      VIGIL_INGEST_TOKEN: INGEST_TOKEN,
      VIGIL_API_TOKEN: API_TOKEN,
      SLACK_BOT_TOKEN: 'xoxb-storm',
      SLACK_SIGNING_SECRET: 'storm-signing-secret',
      SLACK_API_URL: this.slack.url,
      // The worker announces itself in the log.
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      // One process per `vigil web` (not a cluster): the kill -9 hits the process that serves.
      ...(role === 'web' ? { PORT: String(await freePort()), VIGIL_WEB_PROCESSES: '1' } : {}),
      ...this.options.env,
    };
    const started = await this.group.startVigil(name, role, env);
    (role === 'web' ? this.webs : this.workers).push(started);
    this.supervise(started);
    return started;
  }

  /** A process that ends on its own is a failure to report, and is replaced so the storm goes on. */
  private supervise(vigil: VigilProcess): void {
    void vigil.exited.then(({ code, signal }) => {
      if (vigil.killedByUs || this.closing) return;
      // A crash prints its error outside the JSON log lines, e.g. "error: terminating connection ...".
      const why = vigil.firstLine(/^\w*(Error|error)\b[^{]*: /) ?? 'no error printed';
      this.exits.push(`${vigil.name} exited on its own (code ${code}, signal ${signal}): ${why}`);
      this.note(`${vigil.name} exited on its own`);
      const list = vigil.role === 'web' ? this.webs : this.workers;
      list.splice(list.indexOf(vigil), 1);
      if (this.restarts >= MAX_RESTARTS) return;
      this.restarts += 1;
      this.startVigil(vigil.role).then(
        (replacement) => this.note(`${replacement.name} ready in place of ${vigil.name}`),
        (error: unknown) => this.note(`restart failed: ${String(error)}`),
      );
    });
  }

  private note(what: string): void {
    const seconds = this.stormStart === 0 ? 0 : (performance.now() - this.stormStart) / 1000;
    this.timeline.push(`${seconds.toFixed(1)} s: ${what}`);
  }

  // --- what happened

  private async observe(): Promise<{ alerts: StoredAlert[]; cards: ShownCard[] }> {
    const { rows } = await this.db().query<StoredAlert>(
      `SELECT id, title, status, occurrence_count FROM ${SCHEMA}.alerts ORDER BY number`,
    );
    const cards = [...this.slack.messages.values()]
      .filter((message) => message.threadTs === null)
      .map(shownCard);
    return { alerts: rows, cards };
  }

  private async unfinishedOutbox(): Promise<{ unfinished: number; failed: number }> {
    const { rows } = await this.db().query<{ unfinished: string; failed: string }>(
      `SELECT count(*) FILTER (WHERE completed_at IS NULL) AS unfinished,
              count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed
         FROM ${SCHEMA}.outbox`,
    );
    return { unfinished: Number(rows[0]?.unfinished), failed: Number(rows[0]?.failed) };
  }

  private async report(
    outcomes: readonly Outcome[],
    allPostedAfterMs: number | null,
    allCurrentAfterMs: number | null,
  ): Promise<StormReport> {
    const { alerts, cards } = await this.observe();
    const accepted = outcomes.filter((outcome) => outcome.status === 202);
    const problems: StormProblems = {
      stored: [],
      cards: [],
      current: [],
      outbox: [],
      exits: [
        ...this.exits,
        ...this.group
          .crashed()
          .filter((managed) => managed.name.startsWith('redis'))
          .map((managed) => `${managed.name} exited on its own`),
      ],
      pacing: [],
    };

    // Stored exactly once: at least the accepted occurrences, at most every one sent (a request cut
    // off by a kill may or may not have been stored). Answers do not tell occurrences apart: those
    // of one fingerprint stored in one group commit all answer the same count.
    let lostOccurrences = 0;
    const byFingerprint = groupBy(alerts, (alert) => fingerprintOfTitle(alert.title));
    for (let fingerprint = 0; fingerprint < this.options.fingerprints; fingerprint += 1) {
      const sent = outcomes.filter((outcome) => outcome.fingerprint === fingerprint);
      const answered = sent.filter((outcome) => outcome.status === 202);
      const stored = byFingerprint.get(fingerprint) ?? [];
      if (stored.length > 1) problems.stored.push(`fingerprint ${fingerprint}: ${stored.length} alerts`);
      const count = stored.reduce((sum, alert) => sum + alert.occurrence_count, 0);
      if (count < answered.length) {
        lostOccurrences += answered.length - count;
        problems.stored.push(`fingerprint ${fingerprint}: ${answered.length} accepted, ${count} stored`);
      }
      if (count > sent.length)
        problems.stored.push(`fingerprint ${fingerprint}: ${sent.length} sent, ${count} counted`);
    }

    // One card per alert, in its routed channel, showing its latest state.
    let duplicateCards = 0;
    const cardsOf = groupBy(cards, (card) => card.alertId);
    for (const alert of alerts) {
      const shown = cardsOf.get(alert.id) ?? [];
      const channel = channelOf(fingerprintOfTitle(alert.title), this.options.channels);
      if (shown.length === 0) problems.cards.push(`${alert.title}: no card`);
      if (shown.length > 1) {
        duplicateCards += shown.length - 1;
        problems.cards.push(`${alert.title}: ${shown.length} cards`);
      }
      for (const card of shown) {
        if (card.channel !== channel)
          problems.cards.push(`${alert.title}: card in ${card.channel}, not ${channel}`);
        if (!isCurrent(card, alert))
          problems.current.push(
            `${alert.title}: card shows ${card.occurrences} occurrences, ${card.status}; stored ${alert.occurrence_count}, ${alert.status}`,
          );
      }
    }
    const known = new Set(alerts.map((alert) => alert.id));
    const strays = cards.filter((card) => card.alertId === null || !known.has(card.alertId));
    if (strays.length > 0) problems.cards.push(`${strays.length} cards of no stored alert`);

    const { rows: unposted } = await this.db().query<{ count: string }>(
      `SELECT count(*) AS count FROM ${SCHEMA}.cards WHERE state <> 'active' OR message_ref IS NULL`,
    );
    if (Number(unposted[0]?.count) > 0)
      problems.cards.push(`${unposted[0]?.count} cards not recorded as posted in Postgres`);

    const outbox = await this.unfinishedOutbox();
    if (outbox.unfinished > 0 || outbox.failed > 0)
      problems.outbox.push(`${outbox.unfinished} outbox rows unfinished, ${outbox.failed} failed`);

    const gaps: number[] = [];
    for (let channel = 0; channel < this.options.channels; channel += 1) {
      const name = channelOf(channel, this.options.channels);
      const times = this.slack.postTimesIn(name);
      const burst = burstIn(times);
      if (burst !== null)
        problems.pacing.push(
          `${name}: ${burst.cards} cards within ${Math.round(burst.spanMs)} ms, from ${((burst.from - this.stormStartEpoch) / 1000).toFixed(1)} s`,
        );
      gaps.push(...times.slice(1).map((at, index) => at - (times[index] as number)));
    }

    return {
      sent: outcomes.length,
      accepted: accepted.length,
      notAccepted: outcomes.length - accepted.length,
      ingestMs: summarize(accepted.map((outcome) => outcome.ms)),
      alerts: alerts.length,
      allPostedAfterMs,
      allCurrentAfterMs,
      lostOccurrences,
      duplicateCards,
      cardGapsMs: summarizeGaps(gaps),
      timeline: [...this.timeline],
      problems,
    };
  }

  // --- plumbing

  private db(): pg.Pool {
    if (this.probe === null) throw new Error('the storm rig is not started');
    return this.probe;
  }

  /** This run's database, on the test Postgres. */
  private databaseUrl(): string {
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/${this.runId}`;
    return url.toString();
  }

  private async admin(statement: string): Promise<void> {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  }
}

/** The fields of a card (`*Occurrences*\n12`), read back from its Block Kit blocks. */
function shownCard(message: FakeMessage): ShownCard {
  const fields = new Map<string, string>();
  for (const block of message.blocks as { fields?: { text?: string }[] }[]) {
    for (const field of block.fields ?? []) {
      const match = /^\*([^*]+)\*\n([\s\S]*)$/.exec(field.text ?? '');
      if (match?.[1] !== undefined && match[2] !== undefined) fields.set(match[1], match[2]);
    }
  }
  const occurrences = fields.get('Occurrences');
  return {
    channel: message.channel,
    // Vigil names the alert in the message's metadata (how it finds a card whose post was not recorded).
    alertId: metadataAlertId(message.metadata),
    occurrences: occurrences === undefined ? null : Number(occurrences),
    status: fields.get('Status') ?? null,
  };
}

function metadataAlertId(metadata: Record<string, unknown> | null): string | null {
  const payload = metadata?.event_payload as { alertId?: unknown } | undefined;
  return typeof payload?.alertId === 'string' ? payload.alertId : null;
}

function isCurrent(card: ShownCard | undefined, alert: StoredAlert): boolean {
  return (
    card !== undefined &&
    card.occurrences === alert.occurrence_count &&
    (card.status?.startsWith(`*${STATUS_LABELS[alert.status]}*`) ?? false)
  );
}

/** Map.groupBy, which Node 20 lacks. */
function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group === undefined) groups.set(key(item), [item]);
    else group.push(item);
  }
  return groups;
}

/**
 * The first run of cards in one channel that came faster than Slack's pace allows, or null.
 * Every run of k + 1 consecutive cards must span at least (k - 1) intervals: one early card per
 * channel is allowed, since the Redis wipe forgets the channel's slot once.
 */
function burstIn(times: readonly number[]): { cards: number; spanMs: number; from: number } | null {
  for (let first = 0; first < times.length; first += 1) {
    for (let last = first + 1; last < times.length; last += 1) {
      const spanMs = (times[last] as number) - (times[first] as number);
      if (spanMs < (last - first - 1) * POST_INTERVAL_MS - ARRIVAL_JITTER_MS)
        return { cards: last - first + 1, spanMs, from: times[first] as number };
    }
  }
  return null;
}

function summarizeGaps(gaps: readonly number[]): StormReport['cardGapsMs'] {
  const sorted = [...gaps].sort((a, b) => a - b);
  return { min: sorted[0] ?? Number.NaN, p1: percentile(sorted, 1), p50: percentile(sorted, 50) };
}
