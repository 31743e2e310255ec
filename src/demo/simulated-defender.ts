import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { demoDefenderData } from './defender-alerts.js';
import { FakeEntraToken } from './fake-entra.js';
import { FakeGraph } from './fake-graph.js';

/** The app registration the simulated Entra ID knows: fictional values, good for nothing else. */
export const SIMULATED_CREDENTIALS = {
  tenantId: '00000000-0000-4000-8000-00000000d3f0',
  clientId: '00000000-0000-4000-8000-0000000c1e47',
  clientSecret: 'simulated-defender-demo-secret',
} as const;

/** Seconds between pulls in the demo: a change made in the simulated Defender shows soon. */
const DEMO_POLL_SECONDS = '5';

const STATE_FILE = 'simulated-defender.json';

export interface SimulatedDefender {
  /** Vigil's Microsoft settings pointing at it. */
  readonly env: Readonly<Record<string, string>>;
  readonly graphUrl: string;
  readonly tokenUrl: string;
  readonly alertCount: number;
  readonly stop: () => Promise<void>;
}

type Json = Record<string, unknown>;

/**
 * `vigil demo`'s Microsoft Defender: the tests' fake Entra ID token endpoint and fake Graph
 * (alerts_v2, incidents, comments) on free local ports, the app granted SecurityAlert and
 * SecurityIncident ReadWrite. It starts with three alerts of one incident, and keeps its state in
 * the data directory, so a restarted demo finds Defender as the last run left it (an alert
 * resolved in Vigil stays resolved there) and seeds nothing twice.
 */
export async function startSimulatedDefender(dataDir: string): Promise<SimulatedDefender> {
  const { tenantId, clientId, clientSecret } = SIMULATED_CREDENTIALS;
  const entra = await new FakeEntraToken(tenantId, clientId, clientSecret).start();
  entra.roles.set('https://graph.microsoft.com', [
    'SecurityAlert.ReadWrite.All',
    'SecurityIncident.ReadWrite.All',
  ]);
  const graph = await new FakeGraph({ entra }).start();
  const file = path.join(dataDir, STATE_FILE);
  const saved = await readState(file);
  if (saved === null) {
    const seed = demoDefenderData(new Date());
    for (const alert of seed.alerts) graph.putAlert(alert);
    for (const incident of seed.incidents) graph.putIncident(incident);
  } else {
    // As saved: their lastUpdateDateTime stays, so the pull finds nothing new in them.
    for (const alert of saved.alerts) graph.alerts.set(String(alert.id), alert);
    for (const incident of saved.incidents) graph.incidents.set(String(incident.id), incident);
  }
  let saving = saveState(file, graph);
  graph.onChange = () => {
    saving = saving.then(() => saveState(file, graph));
  };
  return {
    env: {
      VIGIL_GRAPH_TENANT_ID: tenantId,
      VIGIL_GRAPH_CLIENT_ID: clientId,
      VIGIL_GRAPH_CLIENT_SECRET: clientSecret,
      VIGIL_GRAPH_AUTHORITY_URL: entra.url,
      VIGIL_GRAPH_API_URL: graph.url,
      VIGIL_GRAPH_POLL_SECONDS: DEMO_POLL_SECONDS,
      VIGIL_DEMO_DEFENDER: '1',
    },
    graphUrl: graph.url,
    tokenUrl: `${entra.url}/${tenantId}/oauth2/v2.0/token`,
    alertCount: graph.alerts.size,
    stop: async () => {
      graph.onChange = null;
      await saving;
      await graph.stop();
      await entra.stop();
    },
  };
}

/** `--reset`: the simulated Defender starts afresh with the demo's data. */
export async function resetSimulatedDefender(dataDir: string): Promise<void> {
  await rm(path.join(dataDir, STATE_FILE), { force: true });
}

async function readState(file: string): Promise<{ alerts: Json[]; incidents: Json[] } | null> {
  try {
    const state = JSON.parse(await readFile(file, 'utf8')) as { alerts?: unknown; incidents?: unknown };
    return Array.isArray(state.alerts) && Array.isArray(state.incidents)
      ? { alerts: state.alerts as Json[], incidents: state.incidents as Json[] }
      : null;
  } catch {
    return null;
  }
}

/** Never fails the demo: a state that could not be written is only not kept for the next run. */
async function saveState(file: string, graph: FakeGraph): Promise<void> {
  const state = { alerts: [...graph.alerts.values()], incidents: [...graph.incidents.values()] };
  await writeFile(file, JSON.stringify(state, null, 2)).catch(() => {});
}
