import type { FakeEntraToken } from '../fakes/entra-token.js';
import type { FakeGraph } from '../fakes/graph.js';

/**
 * Vigil's settings for Microsoft Graph against the fakes: app credentials from the fake Entra
 * token endpoint, the fake Graph as the API, and no scheduled pull (tests pull when they choose).
 */
export const graphTestEnv = (entra: FakeEntraToken, graph: FakeGraph): Record<string, string> => ({
  VIGIL_GRAPH_TENANT_ID: entra.tenantId,
  VIGIL_GRAPH_CLIENT_ID: entra.clientId,
  VIGIL_GRAPH_CLIENT_SECRET: entra.clientSecret,
  VIGIL_GRAPH_AUTHORITY_URL: entra.url,
  VIGIL_GRAPH_API_URL: graph.url,
  VIGIL_GRAPH_POLL_SECONDS: '0',
});
