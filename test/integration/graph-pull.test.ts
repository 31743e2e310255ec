import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GraphAlert, parseGraphAlert } from '../../src/bot/http/ingest/graph.js';
import { systemClock } from '../../src/domain/index.js';
import { microsoftAccess } from '../../src/integrations/microsoft/access.js';
import { pulledAlert } from '../../src/integrations/microsoft/graph-alerts.js';
import { GraphApi } from '../../src/integrations/microsoft/graph-api.js';
import { type GraphPullDeps, pullAlerts } from '../../src/jobs/graph-pull.worker.js';
import { createLogger } from '../../src/logger.js';
import {
  ALERTS_STREAM,
  applyPulledPage,
  PullLeaseLostError,
} from '../../src/storage/graph-sync.repository.js';
import { FakeEntraToken } from '../fakes/entra-token.js';
import { FakeGraph } from '../fakes/graph.js';
import { deleteRedisKeys, eventually, fixture, startTestVigil, type TestVigil } from '../helpers/harness.js';

// The pull from Microsoft Graph, end to end: fake Entra ID and fake Graph over HTTP, real Postgres.
let entra: FakeEntraToken;
let graph: FakeGraph;
let vigil: TestVigil;

const load = (name: string) =>
  JSON.parse(readFileSync(fixture(`alerts/graph-security/${name}`), 'utf8')) as Record<string, unknown>;
const FIXTURES = [
  load('alert.mde-device-file-process-registry.docs.json'),
  load('alert.mdca-user-ip-evidence.sumologic-sample.json'),
  load('alert.app-governance-oauth-evidence.recorded-swimlane.json'),
];
/** A Graph alert from the recorded payloads, under an ID of its own. */
const anAlert = (id: string, index = 0): Record<string, unknown> => ({
  ...(FIXTURES[index % FIXTURES.length] as Record<string, unknown>),
  id,
  status: 'new',
  classification: 'unknown',
  determination: 'unknown',
  assignedTo: null,
});

const credentials = () => ({
  VIGIL_GRAPH_TENANT_ID: entra.tenantId,
  VIGIL_GRAPH_CLIENT_ID: entra.clientId,
  VIGIL_GRAPH_CLIENT_SECRET: entra.clientSecret,
  VIGIL_GRAPH_AUTHORITY_URL: entra.url,
  VIGIL_GRAPH_API_URL: graph.url,
});

beforeAll(async () => {
  entra = await new FakeEntraToken().start();
  entra.roles.set('https://graph.microsoft.com', ['SecurityAlert.ReadWrite.All']);
  graph = await new FakeGraph({ entra }).start();
  // The scheduled pull is off here: each test drives pulls itself, so what it sees is what it did.
  vigil = await startTestVigil({ env: { ...credentials(), VIGIL_GRAPH_POLL_SECONDS: '0' } });
});
afterAll(async () => {
  await vigil?.close();
  await graph?.stop();
  await entra?.stop();
});

function pullDeps(overrides: Partial<GraphPullDeps> & { retries?: number } = {}): GraphPullDeps {
  const access = microsoftAccess(credentials());
  return {
    handle: vigil.handle,
    graph: new GraphApi({
      baseUrl: graph.url,
      bearer: access.graph as NonNullable<typeof access.graph>,
      retries: overrides.retries ?? 3,
      timeoutMs: 5_000,
    }),
    clock: systemClock,
    logger: createLogger('silent'),
    pollMs: 60_000,
    owner: 'test-runner',
    pageSize: 2,
    ...overrides,
  };
}
const pull = (overrides: Parameters<typeof pullDeps>[0] = {}) =>
  pullAlerts(pullDeps(overrides), AbortSignal.timeout(30_000));

const graphAlertRow = (graphId: string) =>
  vigil.handle.db.selectFrom('alerts').selectAll().where('fingerprint', '=', `graph:${graphId}`).execute();
const counts = async () => {
  const db = vigil.handle.db;
  const count = async (table: 'alerts' | 'audit_log' | 'outbox') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const revisions = await db
    .selectFrom('alerts')
    .select(['id', 'revision', 'occurrence_count'])
    .orderBy('id')
    .execute();
  return {
    alerts: await count('alerts'),
    audit: await count('audit_log'),
    outbox: await count('outbox'),
    revisions,
  };
};

describe('pulling alerts from Microsoft Graph', () => {
  it('reads every page of the chain, waiting out a throttled page, and stores each alert once', async () => {
    for (let n = 0; n < 5; n += 1) graph.putAlert(anAlert(`pull-${n}`, n));
    graph.throttleNext(1, 1, (url) => url.includes('%24skip=2') || url.includes('$skip=2'));
    const outcome = await pull();
    expect(outcome).toMatchObject({ kind: 'pulled', pages: 3, items: 5, skipped: 0 });
    const lists = graph.callsTo('GET', /\/security\/alerts_v2\?/);
    expect(lists.map((call) => call.status)).toEqual([200, 429, 200, 200]);
    // The first request filters on lastUpdateDateTime; the rest follow Graph's nextLinks.
    expect(decodeURIComponent(lists[0]?.url ?? '')).toMatch(
      /\$filter=lastUpdateDateTime ge \d{4}-\d\d-\d\dT[\d:.]+Z&\$top=2$/,
    );
    for (let n = 0; n < 5; n += 1) {
      const rows = await graphAlertRow(`pull-${n}`);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ source: 'graph', source_id: `pull-${n}`, status: 'new' });
    }
    const entities = await vigil.handle.db
      .selectFrom('alert_entities')
      .innerJoin('alerts', 'alerts.id', 'alert_entities.alert_id')
      .select(['alert_entities.kind'])
      .where('alerts.source_id', '=', 'pull-0')
      .execute();
    expect(entities.map((row) => row.kind)).toEqual(expect.arrayContaining(['device', 'file', 'process']));
    const sync = await vigil.handle.db.selectFrom('graph_sync').selectAll().executeTakeFirstOrThrow();
    expect(sync).toMatchObject({ chain_next_link: null, lease_owner: null });
    expect(sync.watermark).toBeInstanceOf(Date);
  });

  it('changes nothing when overlapping windows list the same alerts again', async () => {
    const before = await counts();
    const outcome = await pull();
    // The window overlaps the last one by five minutes: every alert is listed again...
    expect(outcome).toMatchObject({ kind: 'pulled', items: 5 });
    // ...and recognised by its lastUpdateDateTime: no alert, occurrence, revision, audit row or card refresh.
    expect(await counts()).toEqual(before);
  });

  it('resumes a chain that stopped mid-way from its stored nextLink', async () => {
    graph.putAlert(anAlert('resume-a'));
    graph.putAlert(anAlert('resume-b', 1));
    graph.putAlert(anAlert('resume-c', 2));
    // Graph keeps throttling the second page past the runner's patience: the pull stops after page 1.
    graph.throttleNext(10, 0, (url) => url.includes('skip=2'));
    await expect(pull({ retries: 1 })).rejects.toThrow(/429/);
    const stopped = await vigil.handle.db.selectFrom('graph_sync').selectAll().executeTakeFirstOrThrow();
    expect(stopped.chain_next_link).toMatch(/\$skip=2|%24skip=2/);
    expect(stopped.lease_owner).toBeNull();
    expect(stopped.last_error).toMatch(/429/);

    graph.throttleNext(0);
    const callsBefore = graph.calls.length;
    await pull();
    const resumedWith = graph.calls[callsBefore];
    expect(resumedWith?.url).toMatch(/skip=2/);
    expect(resumedWith?.url).not.toMatch(/skip=0/);
    for (const id of ['resume-a', 'resume-b', 'resume-c']) expect(await graphAlertRow(id)).toHaveLength(1);
    expect(
      (await vigil.handle.db.selectFrom('graph_sync').select('chain_next_link').executeTakeFirstOrThrow())
        .chain_next_link,
    ).toBeNull();
  });

  it('waits for a token endpoint that is down, and goes on from where it was', async () => {
    graph.putAlert(anAlert('while-entra-down'));
    entra.failNext(100, 503);
    try {
      await expect(pull()).rejects.toThrow(/token request .* failed after 5 attempt\(s\).*503/);
    } finally {
      entra.failNext(0);
    }
    const stopped = await vigil.handle.db.selectFrom('graph_sync').selectAll().executeTakeFirstOrThrow();
    expect(stopped).toMatchObject({ lease_owner: null, last_error: expect.stringMatching(/503/) });
    expect(await graphAlertRow('while-entra-down')).toHaveLength(0);
    await pull();
    expect(await graphAlertRow('while-entra-down')).toHaveLength(1);
  });

  it('stores no duplicate when a runner dies between storing new alerts and committing the page', async () => {
    graph.putAlert(anAlert('crash-1'));
    graph.putAlert(anAlert('crash-2', 1));
    const page = ['crash-1', 'crash-2'].map((id) =>
      pulledAlert(
        (parseGraphAlert(graph.alerts.get(id)) as { ok: true; alert: GraphAlert }).alert,
        new Date(),
      ),
    );
    // A runner whose lease is gone gets as far as storing the new alerts, then its page is refused.
    await expect(
      applyPulledPage(
        vigil.handle,
        ALERTS_STREAM,
        page,
        {
          owner: 'dead-runner',
          leaseMs: 1_000,
          nextLink: null,
          chainUntil: new Date(),
          pulled: 2,
          skipped: 0,
        },
        systemClock,
      ),
    ).rejects.toBeInstanceOf(PullLeaseLostError);
    expect(await graphAlertRow('crash-1')).toHaveLength(1);
    await pull();
    await pull();
    for (const id of ['crash-1', 'crash-2']) {
      expect(await graphAlertRow(id)).toHaveLength(1);
      const state = await vigil.handle.db
        .selectFrom('graph_alert_state')
        .select('alert_id')
        .where('graph_id', '=', id)
        .executeTakeFirstOrThrow();
      expect(state.alert_id).toBe((await graphAlertRow(id))[0]?.id);
    }
  });

  it('takes a change made in Defender, a reopen included, with Defender as the actor', async () => {
    graph.changeAlert('pull-1', {
      status: 'resolved',
      classification: 'truePositive',
      determination: 'compromisedAccount',
      assignedTo: 'Dana@Contoso.com',
    });
    await pull();
    const [resolved] = await graphAlertRow('pull-1');
    expect(resolved).toMatchObject({
      status: 'resolved',
      classification: 'true_positive',
      determination: 'compromisedAccount',
      status_changed_by: { kind: 'source', source: 'defender' },
      assignee: { kind: 'user', id: 'dana@contoso.com' },
    });
    const id = resolved?.id as string;

    graph.changeAlert('pull-1', { status: 'inProgress', classification: 'unknown' });
    await pull();
    const [reopened] = await graphAlertRow('pull-1');
    expect(reopened).toMatchObject({ status: 'in_progress', classification: null });
    const trail = await vigil.handle.db
      .selectFrom('audit_log')
      .selectAll()
      .where('alert_id', '=', id)
      .where('actor_key', '=', 'source:defender')
      .orderBy('id')
      .execute();
    expect(trail.map((row) => [row.action, row.details.from ?? null, row.details.to ?? null])).toEqual([
      ['alert.status_changed', 'new', 'resolved'],
      ['alert.determination_changed', null, 'compromisedAccount'],
      ['alert.assigned', null, null],
      ['alert.status_changed', 'resolved', 'in_progress'],
    ]);
    // Every change went to the cards through the outbox.
    const notified = await vigil.handle.db
      .selectFrom('outbox')
      .select('payload')
      .where('topic', '=', 'notify')
      .execute();
    expect(
      notified.filter((row) => row.payload.alertId === id && row.payload.reason === 'status_changed'),
    ).toHaveLength(2);

    // New evidence from Defender (a verdict) reaches the alert's entities, with Defender on the trail.
    const evidence = ((graph.alerts.get('pull-1')?.evidence ?? []) as Record<string, unknown>[]).map(
      (item) =>
        String(item['@odata.type']).endsWith('ipEvidence') ? { ...item, verdict: 'suspicious' } : item,
    );
    graph.changeAlert('pull-1', { evidence });
    await pull();
    const ip = await vigil.handle.db
      .selectFrom('alert_entities')
      .select('attributes')
      .where('alert_id', '=', id)
      .where('kind', '=', 'ip')
      .executeTakeFirstOrThrow();
    expect(ip.attributes.verdict).toBe('suspicious');
    const last = await vigil.handle.db
      .selectFrom('audit_log')
      .select(['action', 'actor_key'])
      .where('alert_id', '=', id)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(last).toEqual({ action: 'alert.evidence_updated', actor_key: 'source:defender' });
  });

  it('skips malformed items one by one, says why in the log, and counts them in /metrics', async () => {
    const reasons: string[] = [];
    graph.putRawItem(load('legacy-alert-v1-NOT-alerts_v2.xsoar-test-data.json'));
    graph.putRawItem(
      JSON.parse(readFileSync(fixture('malformed/graph-alert.wrong-types.HANDMADE.json'), 'utf8')),
    );
    graph.putAlert(anAlert('after-the-bad-ones'));
    const outcome = await pull({ onSkipped: (reason) => reasons.push(reason) });
    expect(outcome).toMatchObject({ kind: 'pulled', skipped: 2 });
    expect(reasons[0]).toMatch(/legacy \/security\/alerts \(v1\)/);
    expect(reasons[1]).toMatch(/id|title/);
    expect(await graphAlertRow('after-the-bad-ones')).toHaveLength(1);
    const metrics = await (await fetch(`${vigil.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^vigil_graph_pull_skipped_total 2$/m);
  });
});

describe('the scheduled pull', () => {
  it('runs by itself as one chain across two processes, and a Redis wipe does not lose it', async () => {
    const first = await startTestVigil({
      env: { ...credentials(), VIGIL_GRAPH_POLL_SECONDS: '1' },
      relayTimings: { pollMs: 100, redriveAfterMs: 1_000, redriveEveryMs: 500 },
    });
    const second = await startTestVigil({
      env: { ...credentials(), VIGIL_GRAPH_POLL_SECONDS: '1' },
      roles: { web: false, worker: true },
      relayTimings: { pollMs: 100, redriveAfterMs: 1_000, redriveEveryMs: 500 },
      joining: first,
    });
    try {
      const seen = (id: string) => async () =>
        (await first.handle.db
          .selectFrom('alerts')
          .select('id')
          .where('source_id', '=', id)
          .executeTakeFirst()) !== undefined;
      graph.putAlert(anAlert('scheduled-1'));
      await eventually(seen('scheduled-1'), 20_000, 'the scheduled pull to store the alert');
      // One chain: however many processes, at most one pull is ever waiting for its turn (a run
      // that just scheduled its successor is itself unfinished for a moment, so count the waiting).
      for (let look = 0; look < 5; look += 1) {
        const waiting = await first.handle.db
          .selectFrom('outbox')
          .select('id')
          .where('topic', '=', 'graph_pull')
          .where('completed_at', 'is', null)
          .where('failed_at', 'is', null)
          .where('available_at', '>', sql<Date>`now()`)
          .execute();
        expect(waiting.length).toBeLessThanOrEqual(1);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }

      await deleteRedisKeys(first.prefix);
      graph.putAlert(anAlert('scheduled-2', 1));
      await eventually(seen('scheduled-2'), 30_000, 'the pull to go on after Redis was wiped');
      expect(
        await first.handle.db
          .selectFrom('alerts')
          .select('id')
          .where('source_id', '=', 'scheduled-1')
          .execute(),
      ).toHaveLength(1);
    } finally {
      await second.close();
      await first.close();
    }
  }, 60_000);
});
