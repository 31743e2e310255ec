import { RetriesExhaustedError } from '../http-retry.js';
import { type MicrosoftSettings, microsoftAccess } from './access.js';
import { DEFENDER_SCOPE, GRAPH_SCOPE, readTokenClaims, TokenRequestError } from './entra-token.js';
import { checkFeatures, rolesOf } from './permissions.js';

const AUDIENCES = [
  { scope: GRAPH_SCOPE, label: 'Microsoft Graph', api: 'Microsoft Graph' },
  { scope: DEFENDER_SCOPE, label: 'Defender API', api: 'WindowsDefenderATP' },
] as const;

/**
 * `vigil doctor graph`: requests a token for each audience (Graph, Defender), reads the
 * application permissions granted in its `roles` claim, and says for each feature whether it is
 * allowed or exactly which permission to grant. Prints no token and no secret. Returns the exit
 * code: 1 when a token could not be had, else 0 (a missing permission turns only its feature off).
 */
export async function doctorGraph(
  settings: MicrosoftSettings,
  print: (line: string) => void,
): Promise<number> {
  const access = microsoftAccess(settings);
  if (access.graph === null && access.defender === null) {
    print(
      'No Microsoft credentials: set VIGIL_GRAPH_TENANT_ID, VIGIL_GRAPH_CLIENT_ID and either VIGIL_GRAPH_CLIENT_CERTIFICATE (a PEM with the private key and certificate of the app registration) or VIGIL_GRAPH_CLIENT_SECRET.',
    );
    return 1;
  }
  print(
    access.tokens === null
      ? 'Using the static tokens VIGIL_GRAPH_TOKEN / VIGIL_DEFENDER_TOKEN (for tests; they expire within the hour).'
      : `App credentials (${access.tokens.credential}): token endpoint ${access.tokens.endpoint}`,
  );
  let code = 0;
  for (const audience of AUDIENCES) {
    const bearer = audience.scope === GRAPH_SCOPE ? access.graph : access.defender;
    if (bearer === null) {
      print(`${audience.label}: no token configured; its features are off.`);
      continue;
    }
    let token: string;
    try {
      token = await bearer.get(AbortSignal.timeout(60_000));
    } catch (error) {
      code = 1;
      print(`${audience.label}: no token: ${explain(error)}`);
      continue;
    }
    const claims = readTokenClaims(token);
    const roles = rolesOf(claims);
    const expires = typeof claims?.exp === 'number' ? new Date(claims.exp * 1000).toISOString() : 'unknown';
    print(`${audience.label}: token for ${String(claims?.aud ?? 'an unknown audience')}, expires ${expires}`);
    for (const { feature, grantedBy } of checkFeatures(audience.scope, roles)) {
      const also = feature.anyOf.slice(1);
      print(
        grantedBy === null
          ? `  missing  ${feature.name}: grant the application permission ${feature.anyOf[0]} (${audience.api})${also.length > 0 ? `; ${also.join(' or ')} also work` : ''}`
          : `  ok       ${feature.name} (${grantedBy})`,
      );
    }
  }
  return code;
}

function explain(error: unknown): string {
  if (error instanceof TokenRequestError) return error.message;
  if (error instanceof RetriesExhaustedError) return `the token endpoint did not answer: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
