import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/domain/index.js';
import { EntraTokenClient, GRAPH_SCOPE } from '../../src/integrations/microsoft/entra-token.js';
import { GraphApi } from '../../src/integrations/microsoft/graph-api.js';
import { type GraphPullDeps, pullAlerts, pullIncidents } from '../../src/jobs/graph-pull.worker.js';
import { createLogger } from '../../src/logger.js';
import { FakeEntraToken } from '../fakes/entra-token.js';
import { FakeGraph } from '../fakes/graph.js';
import { type FakeMessage, FakeSlackApi } from '../fakes/slack-api.js';
import { graphTestEnv } from '../helpers/graph-env.js';
import { eventually, fixture, startTestVigil, type TestVigil } from '../helpers/harness.js';
import {
  interactionBody,
  postSignedForm,
  resolveFormValues,
  slackTestEnv,
  viewSubmissionBody,
} from '../helpers/slack-signing.js';

// Defender incidents in Vigil: alerts grouped by Graph's incidentId, the incidents API, and
// "Resolve incident" written back to the fake Graph (the incident and each of its alerts).
let entra: FakeEntraToken;
let graph: FakeGraph;
let vigil: TestVigil;
let slack: FakeSlackApi;

const json = (name: string) =>
  JSON.parse(readFileSync(fixture(`alerts/graph-security/${name}`), 'utf8')) as Record<string, unknown>;
const ALERT = json('alert.mde-device-file-process-registry.docs.json');
const INCIDENT = json('incident.docs.json');
const anAlert = (id: string, incidentId: string) => ({
  ...ALERT,
  id,
  incidentId,
  status: 'new',
  classification: 'unknown',
  determination: 'unknown',
});

const CHANNEL = 'C0ALERTS';
const DANA = { id: 'U0DANA', username: 'dana', name: 'dana', team_id: 'T0TEAM' };

/** The Slack card of a Graph alert, once posted with `text` in it. */
async function slackCardOf(graphId: string, text: string): Promise<FakeMessage> {
  return eventually(
    async () => {
      const row = await vigil.handle.db
        .selectFrom('cards')
        .innerJoin('alerts', 'alerts.id', 'cards.alert_id')
        .select('cards.message_ref')
        .where('alerts.source_id', '=', graphId)
        .where('cards.platform', '=', 'slack')
        .executeTakeFirst();
      const card = row?.message_ref == null ? undefined : slack.messages.get(`${CHANNEL}/${row.message_ref}`);
      return card !== undefined && JSON.stringify(card.blocks).includes(text) ? card : undefined;
    },
    20_000,
    `the Slack card of ${graphId} showing ${text}`,
  );
}

interface IncidentBody {
  id: string;
  graphId: string;
  status: string;
  alertCount: number;
  alertStatuses: Record<string, number>;
  alerts: { id: string; status: string; classification: string | null }[];
}

const incidentOf = async (graphId: string): Promise<IncidentBody> => {
  const response = await vigil.api('GET', `/api/incidents/${graphId}`);
  expect(response.status).toBe(200);
  return (await response.json()) as IncidentBody;
};

const pullDeps = (onSkipped?: (reason: string) => void) =>
  ({
    handle: vigil.handle,
    graph: new GraphApi({
      baseUrl: graph.url,
      bearer: new EntraTokenClient({
        authorityUrl: entra.url,
        tenantId: entra.tenantId,
        clientId: entra.clientId,
        clientSecret: entra.clientSecret,
      }).bearer(GRAPH_SCOPE),
      retries: 1,
      timeoutMs: 5_000,
    }),
    clock: systemClock,
    logger: createLogger('silent'),
    pollMs: 60_000,
    owner: 'test-pull',
    ...(onSkipped === undefined ? {} : { onSkipped }),
  }) satisfies GraphPullDeps;
const pull = (onSkipped?: (reason: string) => void) =>
  pullIncidents(pullDeps(onSkipped), AbortSignal.timeout(30_000));

beforeAll(async () => {
  entra = await new FakeEntraToken().start();
  entra.roles.set('https://graph.microsoft.com', [
    'SecurityAlert.ReadWrite.All',
    'SecurityIncident.ReadWrite.All',
  ]);
  graph = await new FakeGraph({ entra }).start();
  slack = await new FakeSlackApi().start();
  vigil = await startTestVigil({
    env: {
      ...slackTestEnv(slack.url, CHANNEL, 'U0DANA'),
      ...graphTestEnv(entra, graph),
    },
    relayTimings: { pollMs: 100, redriveAfterMs: 2_000, redriveEveryMs: 1_000 },
  });
});
afterAll(async () => {
  await vigil?.close();
  await slack?.stop();
  await graph?.stop();
  await entra?.stop();
});

describe('Defender incidents', () => {
  it('groups alerts pushed with one incidentId into one Vigil incident, created on first sight', async () => {
    const first = await vigil.ingest('graph', anAlert('inc-a1', 'push-1'));
    expect(first.status).toBe(202);
    const second = await vigil.ingest('graph', {
      value: [anAlert('inc-a2', 'push-1'), anAlert('inc-b1', 'push-2')],
    });
    expect(second.status).toBe(202);

    const incident = await incidentOf('push-1');
    expect(incident).toMatchObject({ graphId: 'push-1', status: 'new', alertCount: 2 });
    expect(incident.alertStatuses).toEqual({ new: 2, in_progress: 0, resolved: 0 });
    expect(incident.alerts.map((alert) => alert.status)).toEqual(['new', 'new']);
    expect((await incidentOf('push-2')).alertCount).toBe(1);

    const rows = await vigil.handle.db.selectFrom('incidents').select('graph_id').execute();
    expect(rows.map((row) => row.graph_id).sort()).toEqual(['push-1', 'push-2']);
  });

  it('lists incidents newest first in keyset pages, filtered by status', async () => {
    const first = await vigil.api('GET', '/api/incidents?limit=1');
    const page = (await first.json()) as { incidents: { graphId: string }[]; nextCursor: string | null };
    expect(page.incidents.map((incident) => incident.graphId)).toEqual(['push-2']);
    expect(page.nextCursor).not.toBeNull();
    const second = await vigil.api('GET', `/api/incidents?limit=1&cursor=${page.nextCursor}`);
    const next = (await second.json()) as { incidents: { graphId: string }[] };
    expect(next.incidents.map((incident) => incident.graphId)).toEqual(['push-1']);
    const resolved = await vigil.api('GET', '/api/incidents?status=resolved');
    expect(((await resolved.json()) as { incidents: unknown[] }).incidents).toEqual([]);
    const bad = await vigil.api('GET', '/api/incidents?status=closed');
    expect(bad.status).toBe(400);
  });

  it('"Resolve incident" resolves every alert in one classification, audited per alert, and writes it all back', async () => {
    graph.putIncident({
      ...INCIDENT,
      id: 'wb-inc',
      status: 'active',
      classification: 'unknown',
      determination: 'unknown',
    });
    graph.putAlert(anAlert('wb-a1', 'wb-inc'));
    graph.putAlert(anAlert('wb-a2', 'wb-inc'));
    await vigil.ingest('graph', { value: [anAlert('wb-a1', 'wb-inc'), anAlert('wb-a2', 'wb-inc')] });
    const incident = await incidentOf('wb-inc');

    const missing = await vigil.api('POST', `/api/incidents/${incident.id}/status`, { status: 'resolved' });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(await missing.json())).toContain('classification');

    const badDetermination = await vigil.api('POST', `/api/incidents/${incident.id}/status`, {
      status: 'resolved',
      classification: 'true_positive',
      determination: 'aliens',
    });
    expect(badDetermination.status).toBe(400);
    expect(JSON.stringify(await badDetermination.json())).toContain('determination');

    const resolved = await vigil.api(
      'POST',
      `/api/incidents/${incident.id}/status`,
      {
        status: 'resolved',
        classification: 'true_positive',
        determination: 'compromisedAccount',
        comment: 'contained',
      },
      { 'x-vigil-user': 'dana' },
    );
    expect(resolved.status).toBe(200);
    expect(((await resolved.json()) as { resolved: unknown[] }).resolved).toHaveLength(2);
    const after = await incidentOf('wb-inc');
    expect(after.status).toBe('resolved');
    expect(after.alerts.map((alert) => [alert.status, alert.classification])).toEqual([
      ['resolved', 'true_positive'],
      ['resolved', 'true_positive'],
    ]);
    for (const alert of after.alerts) {
      const audit = await vigil.handle.db
        .selectFrom('audit_log')
        .select('action')
        .where('alert_id', '=', alert.id)
        .where('action', '=', 'alert.status_changed')
        .execute();
      expect(audit).toHaveLength(1);
    }

    await eventually(
      async () =>
        graph.incidents.get('wb-inc')?.status === 'resolved' &&
        graph.alerts.get('wb-a1')?.status === 'resolved' &&
        graph.alerts.get('wb-a2')?.status === 'resolved',
      20_000,
      'the incident and its alerts resolved in the fake Graph',
    );
    expect(graph.incidents.get('wb-inc')).toMatchObject({
      classification: 'truePositive',
      determination: 'compromisedAccount',
    });
    expect(graph.alerts.get('wb-a1')?.determination).toBe('compromisedAccount');
    // The alert page says where the alert stands in Defender, once Vigil has written it.
    const first = after.alerts[0]?.id as string;
    const defender = await eventually(
      async () => {
        const detail = (await (await vigil.api('GET', `/api/alerts/${first}`)).json()) as {
          defender: { status: string | null } | null;
        };
        return detail.defender?.status === 'resolved' ? detail.defender : undefined;
      },
      20_000,
      'the alert page showing the alert resolved in Defender',
    );
    expect(defender).toMatchObject({
      classification: 'true_positive',
      determination: 'compromisedAccount',
      incidentId: incident.id,
      writeBackError: null,
    });
    expect(graph.callsTo('PATCH', /security\/incidents\/wb-inc$/)).toHaveLength(1);

    // Again: nothing is open, nothing changes, nothing more is written.
    const again = await vigil.api('POST', `/api/incidents/${incident.id}/status`, {
      status: 'resolved',
      classification: 'true_positive',
    });
    expect(((await again.json()) as { resolved: unknown[] }).resolved).toEqual([]);
    expect(graph.callsTo('PATCH', /security\/incidents\/wb-inc$/)).toHaveLength(1);
  });

  it('pulls incidents with their alerts: an alert Defender put into an incident later joins it, and a second pull changes nothing', async () => {
    const { incidentId: _none, ...uncorrelated } = anAlert('late-1', '');
    expect((await vigil.ingest('graph', uncorrelated)).status).toBe(202);
    graph.putAlert(anAlert('late-1', 'pull-1'));
    graph.putIncident({ ...INCIDENT, id: 'pull-1' });
    // A malformed item in the page is skipped with its reason; the rest of the page is applied.
    graph.incidents.set('bad', { id: { nested: true }, lastUpdateDateTime: new Date().toISOString() });
    const skipped: string[] = [];
    const outcome = await pull((reason) => skipped.push(reason));
    expect(outcome).toMatchObject({ kind: 'pulled', skipped: 1 });
    expect(skipped[0]).toMatch(/^id: /);
    graph.incidents.delete('bad');
    const incident = await incidentOf('pull-1');
    expect(incident).toMatchObject({
      displayName: INCIDENT.displayName,
      alertCount: 1,
      defender: { status: 'Active', classification: 'TruePositive', determination: 'MultiStagedAttack' },
    });
    expect(graph.callsTo('GET', /security\/incidents\?.*expand=alerts/).length).toBeGreaterThan(0);

    const before = await vigil.handle.db
      .selectFrom('incidents')
      .selectAll()
      .where('graph_id', '=', 'pull-1')
      .executeTakeFirstOrThrow();
    expect(await pull()).toMatchObject({ kind: 'pulled' });
    const after = await vigil.handle.db
      .selectFrom('incidents')
      .selectAll()
      .where('graph_id', '=', 'pull-1')
      .executeTakeFirstOrThrow();
    expect(after.updated_at).toEqual(before.updated_at);
  });

  it('an incident resolved from a Slack card (signed click, then the form) resolves every alert in it, in Vigil and in Defender', async () => {
    graph.putIncident({ ...INCIDENT, id: 'card-inc', status: 'active', classification: 'unknown' });
    graph.putAlert(anAlert('card-a1', 'card-inc'));
    graph.putAlert(anAlert('card-a2', 'card-inc'));
    await vigil.ingest('graph', { value: [anAlert('card-a1', 'card-inc'), anAlert('card-a2', 'card-inc')] });
    const incident = await incidentOf('card-inc');
    const card = await slackCardOf('card-a1', '2 alerts: 2 New');
    const button = (card.blocks as { type: string; elements?: { action_id?: string; value?: string }[] }[])
      .flatMap((block) => block.elements ?? [])
      .find((element) => element.action_id === 'incident.resolve');
    expect(button?.value).toBe(incident.id);
    expect(JSON.stringify(card.blocks)).toContain(`/console/#/incidents/${incident.id}`);

    const opened = slack.callsOf('views.open').length;
    const clicked = await postSignedForm(
      vigil.baseUrl,
      interactionBody({
        type: 'block_actions',
        user: DANA,
        team: { id: 'T0TEAM', domain: 'contoso' },
        container: { type: 'message', message_ts: card.ts, channel_id: CHANNEL },
        channel: { id: CHANNEL, name: 'alerts' },
        trigger_id: 'trigger-incident',
        response_url: `${slack.url}response`,
        actions: [
          {
            action_id: 'incident.resolve',
            block_id: 'x',
            value: incident.id,
            type: 'button',
            action_ts: '1700000002.000002',
          },
        ],
      }),
    );
    expect(clicked.status).toBe(200);
    const call = await eventually(async () => slack.callsOf('views.open')[opened], 20_000, 'views.open');
    const view = call.args.view as { callback_id: string; private_metadata: string; blocks: unknown[] };
    expect(view.callback_id).toBe('incident.resolve.modal');
    const submitted = await postSignedForm(
      vigil.baseUrl,
      viewSubmissionBody(
        view,
        resolveFormValues({ text: 'True positive', value: 'true_positive' }, 'one campaign'),
        DANA.id,
        { viewId: 'V222' },
      ),
    );
    expect(submitted.status).toBe(200);

    await eventually(
      async () =>
        graph.incidents.get('card-inc')?.status === 'resolved' &&
        graph.alerts.get('card-a1')?.status === 'resolved' &&
        graph.alerts.get('card-a2')?.status === 'resolved',
      20_000,
      'the incident and both alerts resolved in the fake Defender',
    );
    const after = await incidentOf('card-inc');
    expect(after.alerts.map((alert) => [alert.status, alert.classification])).toEqual([
      ['resolved', 'true_positive'],
      ['resolved', 'true_positive'],
    ]);
    const actors = await vigil.handle.db
      .selectFrom('audit_log')
      .select('actor_key')
      .where('action', '=', 'alert.status_changed')
      .where(
        'alert_id',
        'in',
        after.alerts.map((alert) => alert.id),
      )
      .execute();
    expect(actors.map((row) => row.actor_key)).toEqual(['slack:U0DANA', 'slack:U0DANA']);
    expect(graph.alerts.get('card-a1')?.classification).toBe('truePositive');
    // Each card shows the incident resolved, and offers no Resolve incident any more.
    const resolvedCard = await slackCardOf('card-a2', '2 alerts: 2 Resolved');
    expect(JSON.stringify(resolvedCard.blocks)).not.toContain('incident.resolve');
  });

  it("resolving an incident's last open alert on its own resolves the incident in Defender too", async () => {
    graph.putIncident({ ...INCIDENT, id: 'last-inc', status: 'active', classification: 'unknown' });
    graph.putAlert(anAlert('last-a1', 'last-inc'));
    graph.putAlert(anAlert('last-a2', 'last-inc'));
    await vigil.ingest('graph', { value: [anAlert('last-a1', 'last-inc'), anAlert('last-a2', 'last-inc')] });
    const incident = await incidentOf('last-inc');
    const [one, two] = incident.alerts;
    const resolve = (id: string) =>
      vigil.api('POST', `/api/alerts/${id}/status`, { status: 'resolved', classification: 'false_positive' });
    expect((await resolve(one?.id as string)).status).toBe(200);
    await eventually(
      async () => graph.alerts.get('last-a1')?.status === 'resolved',
      20_000,
      'first alert in Graph',
    );
    await eventually(
      async () => graph.incidents.get('last-inc')?.status === 'inProgress',
      20_000,
      'the incident in progress in Defender while one alert is open',
    );
    expect((await resolve(two?.id as string)).status).toBe(200);
    await eventually(
      async () => graph.incidents.get('last-inc')?.status === 'resolved',
      20_000,
      'the incident resolved in Defender with its last alert',
    );
    expect(graph.incidents.get('last-inc')?.classification).toBe('falsePositive');
  });

  it("a change to one alert (in Vigil or pulled from Defender) refreshes the cards of the incident's other alerts: their counts move (chat.update)", async () => {
    await vigil.ingest('graph', { value: [anAlert('sib-a', 'sib-inc'), anAlert('sib-b', 'sib-inc')] });
    const cardB = await slackCardOf('sib-b', '2 alerts: 2 New');
    const updatesOfB = () =>
      slack
        .callsOf('chat.update')
        .filter((call) => call.args.ts === cardB.ts && call.args.channel === CHANNEL);
    const before = updatesOfB().length;
    const incident = await incidentOf('sib-inc');
    const graphIdOf = async (id: string) =>
      (
        await vigil.handle.db
          .selectFrom('alerts')
          .select('source_id')
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
      ).source_id;
    const [a, b] = [incident.alerts[0]?.id as string, incident.alerts[1]?.id as string];
    const sibA = (await graphIdOf(a)) === 'sib-a' ? a : b;
    // Only sib-a changes; sib-b's own row is untouched, yet its card shows the incident's new counts.
    const revisionOfB = async () =>
      (
        await vigil.handle.db
          .selectFrom('alerts')
          .select('revision')
          .where('source_id', '=', 'sib-b')
          .executeTakeFirstOrThrow()
      ).revision;
    const revisionBefore = await revisionOfB();
    expect((await vigil.api('POST', `/api/alerts/${sibA}/status`, { status: 'in_progress' })).status).toBe(
      200,
    );
    await slackCardOf('sib-b', '2 alerts: 1 New, 1 In progress');
    expect(updatesOfB().length).toBeGreaterThan(before);
    expect(await revisionOfB()).toBe(revisionBefore);
    // A third alert joining the incident is counted on the others' cards too.
    await vigil.ingest('graph', anAlert('sib-c', 'sib-inc'));
    await slackCardOf('sib-b', '3 alerts: 2 New, 1 In progress');
    await slackCardOf('sib-a', '3 alerts: 2 New, 1 In progress');
    // Resolved in Defender and pulled: the siblings' cards count that too.
    graph.putAlert({ ...anAlert('sib-a', 'sib-inc'), status: 'resolved', classification: 'truePositive' });
    await pullAlerts(pullDeps(), AbortSignal.timeout(30_000));
    await slackCardOf('sib-c', '3 alerts: 2 New, 1 Resolved');
    await slackCardOf('sib-b', '3 alerts: 2 New, 1 Resolved');
  });

  it('an alert Defender moves to another incident leaves its old incident: the cards left behind count one alert fewer', async () => {
    await vigil.ingest('graph', { value: [anAlert('move-a', 'move-1'), anAlert('move-b', 'move-1')] });
    await slackCardOf('move-b', '2 alerts: 2 New');
    graph.putAlert(anAlert('move-a', 'move-2'));
    graph.putIncident({ ...INCIDENT, id: 'move-1' });
    graph.putIncident({ ...INCIDENT, id: 'move-2' });
    expect(await pull()).toMatchObject({ kind: 'pulled' });
    expect((await incidentOf('move-1')).alertCount).toBe(1);
    await slackCardOf('move-a', '1 alert: 1 New');
    // The card of the alert that stayed behind is refreshed too, though nothing of its own changed.
    await slackCardOf('move-b', '1 alert: 1 New');
  });

  it("after concurrent changes to an incident's alerts, every card of it shows the exact counts", async () => {
    await vigil.ingest('graph', {
      value: ['conc-1', 'conc-2', 'conc-3', 'conc-4'].map((id) => anAlert(id, 'conc-inc')),
    });
    await slackCardOf('conc-4', '4 alerts: 4 New');
    const { alerts } = await incidentOf('conc-inc');
    // Three status changes and two alerts joining, all at once.
    const responses = await Promise.all([
      ...alerts
        .slice(0, 3)
        .map((alert) => vigil.api('POST', `/api/alerts/${alert.id}/status`, { status: 'in_progress' })),
      vigil.ingest('graph', anAlert('conc-5', 'conc-inc')),
      vigil.ingest('graph', anAlert('conc-6', 'conc-inc')),
    ]);
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 202, 202]);
    const exact = '6 alerts: 3 New, 3 In progress';
    expect(await incidentOf('conc-inc')).toMatchObject({
      alertCount: 6,
      alertStatuses: { new: 3, in_progress: 3, resolved: 0 },
    });
    for (const id of ['conc-1', 'conc-2', 'conc-3', 'conc-4', 'conc-5', 'conc-6'])
      await slackCardOf(id, exact);
  });
});
