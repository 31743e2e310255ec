import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBotConnector } from '../fakes/bot-connector.js';
import { FakeEntraToken } from '../fakes/entra-token.js';
import { FakeGraph } from '../fakes/graph.js';
import { graphTestEnv } from '../helpers/graph-env.js';
import { eventually, fixture, startTestVigil, type TestVigil } from '../helpers/harness.js';

// A Teams click on a Graph alert's card, written back to the fake Graph: status, classification,
// determination and a comment naming Teams; and Resolve incident from the same form.
let entra: FakeEntraToken;
let graph: FakeGraph;
let connector: FakeBotConnector;
let vigil: TestVigil;

const recorded = (name: string) => JSON.parse(readFileSync(fixture(name), 'utf8')) as Record<string, unknown>;
const ALERT = recorded('alerts/graph-security/alert.mde-device-file-process-registry.docs.json');
const INCIDENT = recorded('alerts/graph-security/incident.docs.json');
const INVOKE = recorded('teams/invoke.adaptiveCard-action.with-verb.semi-synthetic.json');
const TENANT = (INVOKE.channelData as { tenant: { id: string } }).tenant.id;
const ADELE = '7a9b12a6-4f02-43f1-b6f9-fd10e047f903';

const anAlert = (id: string, incidentId: string) => ({
  ...ALERT,
  id,
  incidentId,
  status: 'new',
  classification: 'unknown',
  determination: 'unknown',
});

/** Clicks a card action in Teams as Adele (an admin), with the Resolve form's inputs merged into its data. */
const click = (verb: string, data: Record<string, unknown>, upn?: string) =>
  fetch(`${vigil.baseUrl}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      ...INVOKE,
      serviceUrl: connector.url,
      from: {
        id: '29:clicker',
        name: 'Adele Vance',
        aadObjectId: ADELE,
        ...(upn === undefined ? {} : { userPrincipalName: upn }),
      },
      conversation: {
        id: '19:alerts@thread.tacv2',
        conversationType: 'channel',
        tenantId: TENANT,
        isGroup: true,
      },
      value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
    }),
  });

const ingest = async (alerts: unknown[]): Promise<string[]> => {
  const response = await vigil.ingest('graph', { value: alerts });
  expect(response.status).toBe(202);
  return ((await response.json()) as { alerts: { id: string }[] }).alerts.map((alert) => alert.id);
};

beforeAll(async () => {
  entra = await new FakeEntraToken().start();
  entra.roles.set('https://graph.microsoft.com', [
    'SecurityAlert.ReadWrite.All',
    'SecurityIncident.ReadWrite.All',
  ]);
  graph = await new FakeGraph({ entra }).start();
  connector = await new FakeBotConnector().start();
  vigil = await startTestVigil({
    env: {
      VIGIL_TEAMS_DEV: '1',
      VIGIL_ADMINS: `teams:${ADELE}`,
      VIGIL_TEAMS_TENANTS: TENANT,
      ...graphTestEnv(entra, graph),
    },
    relayTimings: { pollMs: 100, redriveAfterMs: 2_000, redriveEveryMs: 1_000 },
  });
});
afterAll(async () => {
  await vigil?.close();
  await connector?.stop();
  await graph?.stop();
  await entra?.stop();
});

describe('Teams clicks written back to Microsoft Graph', () => {
  it('Resolve with a classification and a determination reaches Defender, the comment naming Teams', async () => {
    graph.putAlert(anAlert('teams-1', ''));
    const [alertId] = await ingest([anAlert('teams-1', '')]);
    const response = await click('alert.resolve', {
      alertId,
      version: 1,
      classification: 'true_positive',
      determination: 'phishing',
      comment: 'reported by the user',
    });
    expect(response.status).toBe(200);
    await eventually(
      async () => graph.callsTo('POST', /alerts_v2\/teams-1\/comments$/).length > 0,
      20_000,
      'the Teams click to reach the fake Graph',
    );
    expect(graph.alerts.get('teams-1')).toMatchObject({
      status: 'resolved',
      classification: 'truePositive',
      determination: 'phishing',
    });
    const comment = graph.callsTo('POST', /alerts_v2\/teams-1\/comments$/)[0]?.body as { comment?: string };
    expect(comment.comment).toMatch(
      /^Adele Vance \(teams\) set this alert to Resolved, True positive \(Phishing\) in Vigil: reported by the user \[Vigil change \d+\]$/,
    );
    const row = await vigil.handle.db
      .selectFrom('alerts')
      .select(['determination'])
      .where('id', '=', alertId as string)
      .executeTakeFirstOrThrow();
    expect(row.determination).toBe('phishing');
  });

  it('Assign to me writes the UPN the Teams activity carries as assignedTo, once', async () => {
    graph.putAlert(anAlert('teams-3', ''));
    const [alertId] = await ingest([anAlert('teams-3', '')]);
    const response = await click(
      'alert.assign_to_me',
      { alertId, version: 1 },
      'AdeleV@contoso.onmicrosoft.com',
    );
    expect(response.status).toBe(200);
    await eventually(
      async () => graph.alerts.get('teams-3')?.assignedTo === 'adelev@contoso.onmicrosoft.com',
      20_000,
      'assignedTo in the fake Graph',
    );
    // What Vigil wrote becomes what it last saw: the next pull takes it as Vigil's own, not as Defender's.
    await eventually(
      async () =>
        (
          await vigil.handle.db
            .selectFrom('graph_alert_state')
            .select('assigned_to')
            .where('graph_id', '=', 'teams-3')
            .executeTakeFirst()
        )?.assigned_to === 'adelev@contoso.onmicrosoft.com',
      20_000,
      'the written assignee recorded as last seen',
    );
    expect(graph.callsTo('PATCH', /alerts_v2\/teams-3$/).map((call) => call.body)).toEqual([
      { assignedTo: 'adelev@contoso.onmicrosoft.com' },
    ]);
  });

  it('an assignee whose UPN Vigil does not know is not written, and the trail says so', async () => {
    await vigil.handle.db.updateTable('person_identities').set({ upn: null }).execute();
    graph.putAlert(anAlert('teams-4', ''));
    const [alertId] = await ingest([anAlert('teams-4', '')]);
    expect((await click('alert.assign_to_me', { alertId, version: 1 })).status).toBe(200);
    const skipped = await eventually(
      async () =>
        vigil.handle.db
          .selectFrom('audit_log')
          .select('details')
          .where('alert_id', '=', alertId as string)
          .where('action', '=', 'alert.write_back_skipped')
          .executeTakeFirst(),
      20_000,
      'the skipped assignedTo on the trail',
    );
    expect(skipped.details).toMatchObject({ field: 'assignedTo', assignee: `teams:${ADELE}` });
    expect(graph.callsTo('PATCH', /alerts_v2\/teams-4$/)).toEqual([]);
  });

  it('an unknown determination is not taken; the alert resolves with its classification alone', async () => {
    graph.putAlert(anAlert('teams-2', ''));
    const [alertId] = await ingest([anAlert('teams-2', '')]);
    expect(
      (
        await click('alert.resolve', {
          alertId,
          version: 1,
          classification: 'false_positive',
          determination: 'x',
        })
      ).status,
    ).toBe(200);
    await eventually(
      async () => graph.alerts.get('teams-2')?.status === 'resolved',
      20_000,
      'resolved in Graph',
    );
    expect(graph.alerts.get('teams-2')?.classification).toBe('falsePositive');
    expect(graph.alerts.get('teams-2')?.determination).not.toBe('x');
    const row = await vigil.handle.db
      .selectFrom('alerts')
      .select('determination')
      .where('id', '=', alertId as string)
      .executeTakeFirstOrThrow();
    expect(row.determination).not.toBe('x');
  });

  it('Resolve incident from the Teams card resolves every alert of it, in Vigil and in Defender', async () => {
    graph.putIncident({ ...INCIDENT, id: 'teams-inc', status: 'active', classification: 'unknown' });
    graph.putAlert(anAlert('teams-i1', 'teams-inc'));
    graph.putAlert(anAlert('teams-i2', 'teams-inc'));
    const [first] = await ingest([anAlert('teams-i1', 'teams-inc'), anAlert('teams-i2', 'teams-inc')]);
    const response = await click('incident.resolve', {
      alertId: first,
      version: 1,
      classification: 'true_positive',
      determination: 'malware',
    });
    expect(response.status).toBe(200);
    expect(JSON.stringify(await response.json())).toContain('Incident resolved: 2 alert(s) resolved.');
    await eventually(
      async () =>
        graph.incidents.get('teams-inc')?.status === 'resolved' &&
        graph.alerts.get('teams-i1')?.status === 'resolved' &&
        graph.alerts.get('teams-i2')?.status === 'resolved',
      20_000,
      'the incident and its alerts resolved in the fake Graph',
    );
    expect(graph.incidents.get('teams-inc')).toMatchObject({
      classification: 'truePositive',
      determination: 'malware',
    });
    expect(graph.alerts.get('teams-i2')?.determination).toBe('malware');
  });
});
