import { sql } from 'kysely';
import { INVESTIGATION_KIND_OF, type InvestigationEntityKind } from '../../domain/index.js';
import type { Db } from '../../storage/db.js';
import type { EnrichmentContext, EnrichmentProvider, EnrichmentResult } from './port.js';

const alertKindsOf = (kind: InvestigationEntityKind): string[] =>
  Object.entries(INVESTIGATION_KIND_OF)
    .filter(([, mapped]) => mapped === kind)
    .map(([alertKind]) => alertKind);

/**
 * Other alerts (outside the investigation) about the same entities in the last `days` (param,
 * default 7). An entity in `threshold` or more of them (default 3) is suspicious; one in an
 * alert resolved as a true positive is malicious.
 */
export function relatedAlertsProvider(db: Db): EnrichmentProvider {
  return {
    name: 'related_alerts',
    async run(context: EnrichmentContext): Promise<EnrichmentResult> {
      const days = Number(context.step.params.days ?? 7);
      const threshold = Number(context.step.params.threshold ?? 3);
      const inside = context.alerts.map((alert) => alert.id);
      const since = new Date(context.now.getTime() - days * 86_400_000);
      const pairs = context.entities.flatMap((entity) =>
        alertKindsOf(entity.kind).map((alertKind) => ({ entity, alertKind })),
      );
      if (pairs.length === 0) return { verdicts: [], findings: [], summary: { related: 0 } };
      const rows = await sql<{ kind: string; key: string; alerts: string; true_positives: string }>`
        SELECT ae.kind, ae.key, count(DISTINCT a.id) AS alerts,
          count(DISTINCT a.id) FILTER (WHERE a.classification = 'true_positive') AS true_positives
        FROM alert_entities ae JOIN alerts a ON a.id = ae.alert_id
        WHERE (ae.kind, ae.key) IN (${sql.join(pairs.map((p) => sql`(${p.alertKind}, ${p.entity.key})`))})
          AND a.created_at >= ${since}
          AND NOT (a.id = ANY(${inside}::uuid[]))
        GROUP BY ae.kind, ae.key`.execute(db);
      const verdicts: EnrichmentResult['verdicts'][number][] = [];
      const findings: EnrichmentResult['findings'][number][] = [];
      for (const row of rows.rows) {
        const kind = INVESTIGATION_KIND_OF[row.kind as keyof typeof INVESTIGATION_KIND_OF];
        if (kind === undefined) continue;
        const count = Number(row.alerts);
        const truePositives = Number(row.true_positives);
        const verdict = truePositives > 0 ? 'malicious' : count >= threshold ? 'suspicious' : 'unknown';
        const why =
          truePositives > 0
            ? `in ${truePositives} alert(s) resolved as true positive in the last ${days} days`
            : `in ${count} other alert(s) in the last ${days} days`;
        if (verdict !== 'unknown') verdicts.push({ kind, key: row.key, verdict, why });
        findings.push({
          key: `${kind}:${row.key}`,
          title: `${row.key} appears ${why}`,
          verdict,
          entity: { kind, key: row.key },
          details: { alerts: count, truePositives, days },
        });
      }
      return { verdicts, findings, summary: { entitiesWithRelatedAlerts: rows.rows.length } };
    },
  };
}
