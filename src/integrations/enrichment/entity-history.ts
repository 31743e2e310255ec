import type { InvestigationEntityKind, Verdict } from '../../domain/index.js';
import type { Db } from '../../storage/db.js';
import type { EnrichmentContext, EnrichmentProvider, EnrichmentResult } from './port.js';

/**
 * What earlier investigations concluded about the same entities (in the last `days`, default 90):
 * an entity judged malicious before is suspicious now (it may have been cleaned up since), and
 * one judged suspicious before is noted.
 */
export function entityHistoryProvider(db: Db): EnrichmentProvider {
  return {
    name: 'entity_history',
    async run(context: EnrichmentContext): Promise<EnrichmentResult> {
      if (context.entities.length === 0) return { verdicts: [], findings: [], summary: { earlier: 0 } };
      const days = Number(context.step.params.days ?? 90);
      const since = new Date(context.now.getTime() - days * 86_400_000);
      const rows = await db
        .selectFrom('investigation_entities as ie')
        .innerJoin('investigations as i', 'i.id', 'ie.investigation_id')
        .select(['ie.kind', 'ie.key', 'ie.verdict', 'ie.why', 'i.number', 'i.created_at'])
        .where('ie.investigation_id', '<>', context.investigationId)
        .where('i.created_at', '>=', since)
        .where('ie.verdict', 'in', ['suspicious', 'malicious'])
        .where((eb) =>
          eb.or(
            context.entities.map((entity) =>
              eb.and([eb('ie.kind', '=', entity.kind), eb('ie.key', '=', entity.key)]),
            ),
          ),
        )
        .orderBy('i.created_at', 'desc')
        .execute();
      const verdicts: EnrichmentResult['verdicts'][number][] = [];
      const findings: EnrichmentResult['findings'][number][] = [];
      const seen = new Set<string>();
      for (const row of rows) {
        const id = `${row.kind}:${row.key}`;
        if (seen.has(id)) continue;
        seen.add(id);
        const kind = row.kind as InvestigationEntityKind;
        const verdict: Verdict = 'suspicious';
        const why = `judged ${row.verdict} in investigation #${row.number}: ${row.why}`;
        verdicts.push({ kind, key: row.key, verdict, why });
        findings.push({
          key: id,
          title: `${row.key} was ${why}`,
          verdict,
          entity: { kind, key: row.key },
          details: { investigation: row.number, earlierVerdict: row.verdict },
        });
      }
      return { verdicts, findings, summary: { entitiesSeenBefore: seen.size } };
    },
  };
}
