import { entityKey, type InvestigationEntityKind, type Verdict } from '../../domain/index.js';
import type { Db } from '../../storage/db.js';
import type { EnrichmentContext, EnrichmentProvider, EnrichmentResult } from './port.js';

/** Entities on the watchlist (`/api/watchlist`) get its verdict and reason. */
export function watchlistProvider(db: Db): EnrichmentProvider {
  return {
    name: 'watchlist',
    async run(context: EnrichmentContext): Promise<EnrichmentResult> {
      if (context.entities.length === 0) return { verdicts: [], findings: [], summary: { hits: 0 } };
      const rows = await db
        .selectFrom('watchlist')
        .select(['kind', 'value', 'verdict', 'reason'])
        .where((eb) =>
          eb.or(
            context.entities.map((entity) =>
              eb.and([eb('kind', '=', entity.kind), eb('value', '=', entityKey(entity.kind, entity.key))]),
            ),
          ),
        )
        .execute();
      return {
        verdicts: rows.map((row) => ({
          kind: row.kind as InvestigationEntityKind,
          key: row.value,
          verdict: row.verdict as Verdict,
          why: `on the watchlist: ${row.reason}`,
        })),
        findings: rows.map((row) => ({
          key: `${row.kind}:${row.value}`,
          title: `${row.value} is on the watchlist (${row.verdict}): ${row.reason}`,
          verdict: row.verdict as Verdict,
          entity: { kind: row.kind as InvestigationEntityKind, key: row.value },
          details: { reason: row.reason },
        })),
        summary: { hits: rows.length },
      };
    },
  };
}
