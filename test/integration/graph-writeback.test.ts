import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARD_ACTIONS } from '../../src/bot/card-actions.js';
import { systemClock } from '../../src/domain/index.js';
import { EntraTokenClient, GRAPH_SCOPE } from '../../src/integrations/microsoft/entra-token.js';
import { GraphApi } from '../../src/integrations/microsoft/graph-api.js';
import { pullAlerts } from '../../src/jobs/graph-pull.worker.js';
import { writeBackAlert } from '../../src/jobs/graph-writeback.worker.js';
import { createLogger } from '../../src/logger.js';
import { FakeEntraToken } from '../fakes/entra-token.js';
import { FakeGraph } from '../fakes/graph.js';
import { FakeSlackApi } from '../fakes/slack-api.js';
import { eventually, fixture, startTestVigil, type TestVigil } from '../helpers/harness.js';
import { personWithToken, type TokenPerson } from '../helpers/people.js';
import { interactionBody, postSignedForm, slackTestEnv } from '../helpers/slack-signing.js';

// Write-back to Microsoft Graph, end to end: a click (here the API) → outbox → PATCH and comment at the fake Graph.
let entra: FakeEntraToken;
let graph: FakeGraph;
let vigil: TestVigil;
let slack: FakeSlackApi;
let dana: TokenPerson;
let erin: TokenPerson;

const FIXTURE = JSON.parse(
  readFileSync(fixture('alerts/graph-security/alert.mde-device-file-process-registry.docs.json'), 'utf8'),
) as Record<string, unknown>;
const anAlert = (id: string) => ({
  ...FIXTURE,
  id,
  status: 'new',
  classification: 'unknown',
  determination: 'unknown',
});

const logger = createLogger('silent');
const graphApi = (roles?: string[]) => {
  const tokens = new EntraTokenClient({
    authorityUrl: entra.url,
    tenantId: entra.tenantId,
    clientId: entra.clientId,
    clientSecret: entra.clientSecret,
  });
  if (roles !== undefined) entra.roles.set('https://graph.microsoft.com', roles);
  return new GraphApi({
    baseUrl: graph.url,
    bearer: tokens.bearer(GRAPH_SCOPE),
    retries: 1,
    timeoutMs: 5_000,
  });
};
const pull = () =>
  pullAlerts(
    {
      handle: vigil.handle,
      graph: graphApi(),
      clock: systemClock,
      logger,
      pollMs: 60_000,
      owner: 'test-pull',
    },
    AbortSignal.timeout(30_000),
  );
const writeBackDeps = (api: GraphApi) => ({
  handle: vigil.handle,
  graph: api,
  clock: systemClock,
  logger,
  owner: 'test-writer',
});
const alertOf = async (graphId: string) =>
  vigil.handle.db.selectFrom('alerts').selectAll().where('source_id', '=', graphId).executeTakeFirstOrThrow();
const auditCount = async (alertId: string) =>
  (await vigil.handle.db.selectFrom('audit_log').select('id').where('alert_id', '=', alertId).execute())
    .length;

beforeAll(async () => {
  entra = await new FakeEntraToken().start();
  entra.roles.set('https://graph.microsoft.com', ['SecurityAlert.ReadWrite.All']);
  graph = await new FakeGraph({ entra }).start();
  slack = await new FakeSlackApi().start();
  vigil = await startTestVigil({
    env: {
      ...slackTestEnv(slack.url, 'C0ALERTS', 'U0DANA'),
      VIGIL_GRAPH_TENANT_ID: entra.tenantId,
      VIGIL_GRAPH_CLIENT_ID: entra.clientId,
      VIGIL_GRAPH_CLIENT_SECRET: entra.clientSecret,
      VIGIL_GRAPH_AUTHORITY_URL: entra.url,
      VIGIL_GRAPH_API_URL: graph.url,
      // Pulls are driven by the tests; write-back jobs run on their own.
      VIGIL_GRAPH_POLL_SECONDS: '0',
    },
    relayTimings: { pollMs: 100, redriveAfterMs: 2_000, redriveEveryMs: 1_000 },
  });
  dana = await personWithToken(vigil, 'dana', 'responder');
  erin = await personWithToken(vigil, 'erin', 'responder');
});
afterAll(async () => {
  await vigil?.close();
  await slack?.stop();
  await graph?.stop();
  await entra?.stop();
});

describe('writing back to Microsoft Graph', () => {
  it('resolving in Vigil PATCHes the Graph alert and comments once, and the next pull echoes nothing', async () => {
    graph.putAlert(anAlert('wb-1'));
    await pull();
    const alert = await alertOf('wb-1');
    const response = await vigil.api(
      'POST',
      `/api/alerts/${alert.id}/status`,
      { status: 'resolved', classification: 'true_positive', comment: 'Confirmed with the user' },
      dana.as,
    );
    expect(response.status).toBe(200);

    const written = await eventually(
      async () => {
        const remote = graph.alerts.get('wb-1');
        return remote?.status === 'resolved' && (remote.comments as unknown[]).length > 0
          ? remote
          : undefined;
      },
      20_000,
      'the write-back to reach the fake Graph',
    );
    expect(written).toMatchObject({ status: 'resolved', classification: 'truePositive' });
    expect(graph.callsTo('PATCH', /alerts_v2\/wb-1$/).map((call) => call.body)).toEqual([
      { status: 'resolved', classification: 'truePositive' },
    ]);
    const comments = graph.callsTo('POST', /alerts_v2\/wb-1\/comments$/);
    expect(comments).toHaveLength(1);
    const text = String((comments[0]?.body as { comment?: string } | undefined)?.comment);
    expect(text).toContain(
      'dana (api) set this alert to Resolved, True positive in Vigil: Confirmed with the user',
    );
    expect(text).toMatch(/\[Vigil change \d+\]$/);
    await eventually(
      async () =>
        (
          await vigil.handle.db
            .selectFrom('outbox')
            .select('completed_at')
            .where('topic', '=', 'graph_writeback')
            .executeTakeFirstOrThrow()
        ).completed_at !== null,
      10_000,
      'the write-back job to be marked done',
    );

    // A job run again (a retry after a crash) finds nothing left to do: no second PATCH, no second comment.
    await writeBackAlert(writeBackDeps(graphApi()), alert.id);
    // Even if the comment was posted but not recorded, its marker keeps it from being posted twice.
    await vigil.handle.db
      .updateTable('graph_alert_state')
      .set({ comments_through: 0 })
      .where('graph_id', '=', 'wb-1')
      .execute();
    await writeBackAlert(writeBackDeps(graphApi()), alert.id);
    expect(graph.callsTo('PATCH', /alerts_v2\/wb-1$/)).toHaveLength(1);
    expect(graph.callsTo('POST', /alerts_v2\/wb-1\/comments$/)).toHaveLength(1);

    // Vigil's own change comes back in the next pull: recognised, nothing changes, dana stays the actor.
    const before = { audit: await auditCount(alert.id), row: await alertOf('wb-1') };
    await pull();
    const after = await alertOf('wb-1');
    expect(await auditCount(alert.id)).toBe(before.audit);
    expect(after.revision).toBe(before.row.revision);
    expect(after.status_changed_by).toMatchObject({ kind: 'user', platform: 'api', personId: dana.personId });
  });

  it('writes back a click on the Slack card, naming the person and the platform', async () => {
    graph.putAlert(anAlert('wb-slack'));
    await pull();
    const alert = await alertOf('wb-slack');
    const clicked = await postSignedForm(
      vigil.baseUrl,
      interactionBody({
        type: 'block_actions',
        user: { id: 'U0DANA', username: 'dana', name: 'dana', team_id: 'T0TEAM' },
        team: { id: 'T0TEAM', domain: 'contoso' },
        container: { type: 'message', message_ts: '1700000001.000001', channel_id: 'C0ALERTS' },
        channel: { id: 'C0ALERTS', name: 'alerts' },
        trigger_id: 'trigger-wb-slack',
        response_url: `${slack.url}response`,
        actions: [
          {
            action_id: CARD_ACTIONS.startProgress,
            block_id: 'alert:x',
            value: `${alert.id}:${alert.version}`,
            type: 'button',
            action_ts: '1700000002.000002',
          },
        ],
      }),
    );
    expect(clicked.status).toBe(200);
    await eventually(
      async () => graph.callsTo('POST', /alerts_v2\/wb-slack\/comments$/).length > 0,
      20_000,
      'the Slack click to reach the fake Graph',
    );
    expect(graph.alerts.get('wb-slack')?.status).toBe('inProgress');
    const comment = graph.callsTo('POST', /alerts_v2\/wb-slack\/comments$/)[0]?.body as { comment?: string };
    expect(comment?.comment).toMatch(
      /\(slack\) set this alert to In progress in Vigil \[Vigil change \d+\]$/,
    );
  });

  it('retries a throttled write-back until it lands, applying it once', async () => {
    graph.putAlert(anAlert('wb-retry'));
    await pull();
    const alert = await alertOf('wb-retry');
    // More 429s than one job's attempts: the job fails, BullMQ runs it again, and it lands.
    graph.throttleNext(8, 0, (url, method) => method === 'PATCH' && url.includes('wb-retry'));
    const response = await vigil.api(
      'POST',
      `/api/alerts/${alert.id}/status`,
      { status: 'resolved', classification: 'false_positive' },
      erin.as,
    );
    expect(response.status).toBe(200);
    await eventually(
      async () => graph.alerts.get('wb-retry')?.status === 'resolved',
      30_000,
      'the write-back to land after the throttling',
    );
    const patches = graph.callsTo('PATCH', /alerts_v2\/wb-retry$/).map((call) => call.status);
    expect(patches.filter((status) => status === 429)).toHaveLength(8);
    expect(patches.filter((status) => status === 200)).toHaveLength(1);
    await eventually(
      async () => {
        const rows = await vigil.handle.db
          .selectFrom('outbox')
          .select(['completed_at', 'payload'])
          .where('topic', '=', 'graph_writeback')
          .execute();
        return rows
          .filter((row) => row.payload.alertId === alert.id)
          .every((row) => row.completed_at !== null);
      },
      10_000,
      'the write-back job to be done',
    );
    expect(graph.callsTo('POST', /alerts_v2\/wb-retry\/comments$/)).toHaveLength(1);
    expect(graph.alerts.get('wb-retry')?.classification).toBe('falsePositive');
  });

  it('settles a conflict with Defender by the later change, and puts it on the trail', async () => {
    const conflictOf = async (alertId: string) =>
      vigil.handle.db
        .selectFrom('audit_log')
        .select('details')
        .where('alert_id', '=', alertId)
        .where('action', '=', 'alert.write_back_conflict')
        .execute();
    // Defender moves the alert, then (later) a person resolves it in Vigil before any pull: Vigil wins.
    graph.putAlert(anAlert('wb-conflict-vigil'));
    await pull();
    const first = await alertOf('wb-conflict-vigil');
    graph.changeAlert('wb-conflict-vigil', { status: 'inProgress' });
    await vigil.api(
      'POST',
      `/api/alerts/${first.id}/status`,
      { status: 'resolved', classification: 'true_positive' },
      dana.as,
    );
    await eventually(
      async () => (await conflictOf(first.id)).length > 0,
      20_000,
      'the conflict to be recorded',
    );
    expect((await conflictOf(first.id))[0]?.details).toMatchObject({
      winner: 'vigil',
      defender: { status: 'in_progress' },
      vigil: { status: 'resolved' },
    });
    expect(graph.alerts.get('wb-conflict-vigil')?.status).toBe('resolved');

    // Vigil's change is older than Defender's: Graph keeps Defender's, and the next pull brings it to Vigil.
    graph.putAlert(anAlert('wb-conflict-defender'));
    await pull();
    const second = await alertOf('wb-conflict-defender');
    await vigil.handle.db
      .updateTable('alerts')
      .set({
        status: 'resolved',
        classification: 'false_positive',
        status_changed_at: new Date(Date.now() - 60_000),
      })
      .where('id', '=', second.id)
      .execute();
    graph.changeAlert('wb-conflict-defender', { status: 'inProgress' });
    await writeBackAlert(writeBackDeps(graphApi()), second.id);
    expect(graph.callsTo('PATCH', /alerts_v2\/wb-conflict-defender$/)).toHaveLength(0);
    expect((await conflictOf(second.id))[0]?.details).toMatchObject({ winner: 'defender' });
    await pull();
    expect(await alertOf('wb-conflict-defender')).toMatchObject({
      status: 'in_progress',
      status_changed_by: { kind: 'source', source: 'defender' },
    });
  });

  it('does not write back a change pulled from Defender', async () => {
    graph.putAlert(anAlert('wb-2'));
    await pull();
    const writeBacks = async () =>
      (
        await vigil.handle.db
          .selectFrom('outbox')
          .select('id')
          .where('topic', '=', 'graph_writeback')
          .execute()
      ).length;
    const before = await writeBacks();
    graph.changeAlert('wb-2', { status: 'inProgress' });
    await pull();
    expect((await alertOf('wb-2')).status).toBe('in_progress');
    expect(await writeBacks()).toBe(before);
    expect(graph.callsTo('PATCH', /alerts_v2\/wb-2$/)).toHaveLength(0);
  });

  it('runs a policy’s remediation through Graph with app credentials alone, and writes its resolution back', async () => {
    const policy = await vigil.api('POST', '/api/policies', {
      name: 'Disable users with anomalous tokens',
      conditions: { sources: ['graph'], categories: ['InitialAccess'], entities: [{ kind: 'user' }] },
      actions: [{ type: 'remediate', steps: [{ action: 'disable_user' }] }],
    });
    expect(policy.status).toBe(201);
    const mdca = JSON.parse(
      readFileSync(
        fixture('alerts/graph-security/alert.mdca-user-ip-evidence.sumologic-sample.json'),
        'utf8',
      ),
    ) as Record<string, unknown>;
    graph.putAlert({ ...mdca, id: 'wb-policy', status: 'new', classification: 'unknown' });
    await pull();
    // The executor is real: the user is disabled at (fake) Graph with the app's own token.
    await eventually(
      async () => graph.callsTo('PATCH', /\/users\/mike%40odata\.com$/).length > 0,
      20_000,
      'the policy to disable the user through Graph',
    );
    expect(graph.callsTo('PATCH', /\/users\/mike%40odata\.com$/)[0]?.body).toEqual({ accountEnabled: false });
    // Resolved by the policy in Vigil, then in Defender, with a comment naming the policy.
    await eventually(
      async () =>
        graph.alerts.get('wb-policy')?.status === 'resolved' &&
        graph.callsTo('POST', /alerts_v2\/wb-policy\/comments$/).length > 0,
      20_000,
      'the policy’s resolution and its comment to be written back',
    );
    const comment = graph.callsTo('POST', /alerts_v2\/wb-policy\/comments$/)[0]?.body as { comment?: string };
    expect(comment?.comment).toMatch(
      /^policy Disable users with anomalous tokens set this alert to Resolved in Vigil/,
    );
  });

  it('puts a refusal for want of permission on the alert’s trail, naming the permission', async () => {
    graph.putAlert(anAlert('wb-3'));
    await pull();
    const alert = await alertOf('wb-3');
    await vigil.handle.db
      .updateTable('alerts')
      .set({ status: 'in_progress' })
      .where('id', '=', alert.id)
      .execute();
    const readOnly = graphApi(['SecurityAlert.Read.All']);
    try {
      await writeBackAlert(writeBackDeps(readOnly), alert.id);
    } finally {
      entra.roles.set('https://graph.microsoft.com', ['SecurityAlert.ReadWrite.All']);
    }
    const failed = await vigil.handle.db
      .selectFrom('audit_log')
      .selectAll()
      .where('alert_id', '=', alert.id)
      .where('action', '=', 'alert.write_back_failed')
      .executeTakeFirstOrThrow();
    expect(String(failed.details.reason)).toContain('SecurityAlert.ReadWrite.All');
    expect(graph.alerts.get('wb-3')?.status).toBe('new');
  });
});
