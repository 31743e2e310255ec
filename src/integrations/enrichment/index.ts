import type { EnrichmentProviderName } from '../../domain/index.js';
import type { Db } from '../../storage/db.js';
import { entityHistoryProvider } from './entity-history.js';
import { httpProvider, type SecretSource } from './http.js';
import { oauthAppRiskProvider } from './oauth-app-risk.js';
import type { EnrichmentProvider } from './port.js';
import { relatedAlertsProvider } from './related-alerts.js';
import { watchlistProvider } from './watchlist.js';

export type { SecretSource } from './http.js';
export type { EnrichmentContext, EnrichmentProvider, EnrichmentResult } from './port.js';

/** Every provider a playbook step may name, by name. */
export function enrichmentProviders(
  db: Db,
  secrets: SecretSource,
  limits: { readonly maxCalls: number },
): ReadonlyMap<EnrichmentProviderName, EnrichmentProvider> {
  const providers = [
    relatedAlertsProvider(db),
    entityHistoryProvider(db),
    watchlistProvider(db),
    oauthAppRiskProvider(),
    httpProvider(secrets, limits.maxCalls),
  ];
  return new Map(providers.map((provider) => [provider.name, provider]));
}
