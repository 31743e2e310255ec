import { type BearerSource, staticBearer } from '../http-retry.js';
import type { ClientCertificate } from './client-assertion.js';
import { DEFENDER_SCOPE, type EntraCredential, EntraTokenClient, GRAPH_SCOPE } from './entra-token.js';

/** The Microsoft settings of the configuration (see config.ts). */
export interface MicrosoftSettings {
  readonly VIGIL_GRAPH_TENANT_ID?: string | undefined;
  readonly VIGIL_GRAPH_CLIENT_ID?: string | undefined;
  readonly VIGIL_GRAPH_CLIENT_SECRET?: string | undefined;
  /** The certificate credential, read from the PEM file VIGIL_GRAPH_CLIENT_CERTIFICATE names (config.ts). */
  readonly VIGIL_GRAPH_CLIENT_CERTIFICATE?: ClientCertificate | undefined;
  readonly VIGIL_GRAPH_AUTHORITY_URL?: string | undefined;
  readonly VIGIL_GRAPH_TOKEN?: string | undefined;
  readonly VIGIL_DEFENDER_TOKEN?: string | undefined;
}

/** How Vigil reaches Microsoft Graph and the Defender API; null where it cannot. */
export interface MicrosoftAccess {
  /** The app's own token client, when app credentials are set. */
  readonly tokens: EntraTokenClient | null;
  readonly graph: BearerSource | null;
  readonly defender: BearerSource | null;
}

export const DEFAULT_AUTHORITY_URL = 'https://login.microsoftonline.com';

/**
 * App credentials (client credentials against Entra ID, with a client secret or a certificate)
 * give tokens for both Graph and Defender;
 * the static tokens are for tests and trials, and are used only where no app credentials are set.
 * Build it once per process, so every user of Graph shares one cached token.
 */
export function microsoftAccess(settings: MicrosoftSettings): MicrosoftAccess {
  const { VIGIL_GRAPH_TENANT_ID: tenantId, VIGIL_GRAPH_CLIENT_ID: clientId } = settings;
  const clientSecret = settings.VIGIL_GRAPH_CLIENT_SECRET;
  const clientCertificate = settings.VIGIL_GRAPH_CLIENT_CERTIFICATE;
  // config.ts allows one of the two; a certificate is the stronger, should both reach here.
  const credential: EntraCredential | null =
    clientCertificate !== undefined
      ? { clientCertificate }
      : clientSecret !== undefined
        ? { clientSecret }
        : null;
  const tokens =
    tenantId !== undefined && clientId !== undefined && credential !== null
      ? new EntraTokenClient({
          authorityUrl: settings.VIGIL_GRAPH_AUTHORITY_URL ?? DEFAULT_AUTHORITY_URL,
          tenantId,
          clientId,
          ...credential,
        })
      : null;
  const staticOr = (token: string | undefined) => (token === undefined ? null : staticBearer(token));
  return {
    tokens,
    graph: tokens?.bearer(GRAPH_SCOPE) ?? staticOr(settings.VIGIL_GRAPH_TOKEN),
    defender: tokens?.bearer(DEFENDER_SCOPE) ?? staticOr(settings.VIGIL_DEFENDER_TOKEN),
  };
}
