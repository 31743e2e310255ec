import { sql } from 'kysely';
import {
  type AuditEntry,
  belongsToResolvedAlert,
  type Clock,
  type IngestEvent,
  notify,
  type OccurrenceGroup,
  OPEN_INVESTIGATION_STATUSES,
  SEVERITIES,
} from '../domain/index.js';
import { json } from './alert.mapper.js';
import { changeAlert } from './alert.repository.js';
import { appendAudit } from './audit.repository.js';
import { inChunks } from './chunks.js';
import type { Db, DbHandle } from './db.js';
import { joinIncidents } from './incident.repository.js';
import { planInvestigations } from './investigation-plan.repository.js';
import { appendOutbox } from './outbox.repository.js';
import { applyPoliciesAtIngest } from './policy.repository.js';

/** What became of one occurrence group. */
export interface OccurrenceOutcome {
  readonly alertId: string;
  readonly number: string;
  readonly duplicate: boolean;
  readonly occurrenceCount: number;
}

const severityList = sql.raw(`ARRAY[${SEVERITIES.map((s) => `'${s}'`).join(',')}]`);
const openInvestigationStatuses = sql.raw(OPEN_INVESTIGATION_STATUSES.map((s) => `'${s}'`).join(','));

interface IngestContext {
  /** The latest alert of each fingerprint that has one. */
  readonly latest: readonly {
    readonly id: string;
    readonly fingerprint: string;
    readonly status: string;
    readonly status_changed_at: Date | null;
  }[];
  /** For the policy cache's check (see applyPoliciesAtIngest). */
  readonly policyGeneration: string;
  /** Whether an enabled investigation rule or an open investigation exists. */
  readonly mayInvestigate: boolean;
}

/**
 * What a batch needs to know before it writes, in one round trip: the fingerprints' latest
 * alerts (occurrences that began before that alert was resolved belong to it), the policy
 * generation, and whether investigation planning can do anything at all.
 */
async function ingestContext(trx: Db, fingerprints: readonly string[]): Promise<IngestContext> {
  const { rows } = await sql<{
    id: string | null;
    fingerprint: string | null;
    status: string | null;
    status_changed_at: Date | null;
    generation: string;
    may_investigate: boolean;
  }>`
    SELECT l.id, l.fingerprint, l.status, l.status_changed_at, g.generation, g.may_investigate
    FROM (SELECT (SELECT generation FROM policy_generation) AS generation,
            EXISTS (SELECT 1 FROM investigation_rules WHERE enabled)
              OR EXISTS (SELECT 1 FROM investigations WHERE status IN (${openInvestigationStatuses}))
              AS may_investigate) g
    LEFT JOIN LATERAL (
      SELECT DISTINCT ON (fingerprint) id, fingerprint, status, status_changed_at
      FROM alerts WHERE fingerprint = ANY(${[...fingerprints]}::text[])
      ORDER BY fingerprint, created_at DESC
    ) l ON true`.execute(trx);
  const first = rows[0];
  if (first === undefined) throw new Error('the ingest context query returned no row');
  return {
    latest: rows.flatMap((row) =>
      row.id === null || row.fingerprint === null || row.status === null
        ? []
        : [
            {
              id: row.id,
              fingerprint: row.fingerprint,
              status: row.status,
              status_changed_at: row.status_changed_at,
            },
          ],
    ),
    policyGeneration: first.generation,
    mayInvestigate: first.may_investigate,
  };
}

/**
 * Stores occurrence groups in one transaction: a new alert for each fingerprint with no open
 * alert, or one occurrence update on the open alert (the rule of the domain's `occurrenceUpdate`,
 * done here as one atomic upsert on the partial unique index `alerts_open_fingerprint`, so any
 * number of concurrent writers end with the right count). Audit and notify outbox rows go in the
 * same transaction. Rows are written in fingerprint order so concurrent batches lock alike and
 * cannot deadlock. Occurrences that began before their fingerprint's latest alert was resolved
 * are counted on that resolved alert (see the domain's `belongsToResolvedAlert`). Returns
 * outcomes in the order of `groups`.
 */
export async function storeOccurrences(
  handle: DbHandle,
  groups: readonly OccurrenceGroup[],
  clock: Clock,
): Promise<OccurrenceOutcome[]> {
  if (groups.length === 0) return [];
  const now = clock.now();
  const ordered = [...groups].sort((a, b) => (a.draft.fingerprint < b.draft.fingerprint ? -1 : 1));
  return handle.db.transaction().execute(async (trx) => {
    const context = await ingestContext(
      trx,
      ordered.map((group) => group.draft.fingerprint),
    );
    const latest = context.latest;
    const latestBy = new Map(latest.map((row) => [row.fingerprint, row]));
    const isLate = (group: OccurrenceGroup) => {
      const row = latestBy.get(group.draft.fingerprint);
      return (
        row !== undefined &&
        belongsToResolvedAlert(
          { status: row.status, statusChangedAt: row.status_changed_at },
          group.firstSeenAt,
        )
      );
    };
    const lateRows = [];
    for (const group of ordered.filter(isLate)) {
      lateRows.push(
        await trx
          .updateTable('alerts')
          .set({
            occurrence_count: sql`occurrence_count + ${group.count}`,
            last_seen_at: sql`greatest(last_seen_at, ${group.lastSeenAt})`,
            revision: sql`revision + 1`,
            updated_at: now,
          })
          .where('id', '=', latestBy.get(group.draft.fingerprint)?.id as string)
          .returning(['id', 'number', 'fingerprint', 'occurrence_count', sql<boolean>`false`.as('inserted')])
          .executeTakeFirstOrThrow(),
      );
    }
    const fresh = ordered.filter((group) => !isLate(group));
    const upserted =
      fresh.length === 0
        ? []
        : await trx
            .insertInto('alerts')
            .values(
              fresh.map(({ draft, count, firstSeenAt, lastSeenAt }) => ({
                source: draft.source,
                source_id: draft.sourceId,
                fingerprint: draft.fingerprint,
                title: draft.title,
                description: draft.description,
                severity: draft.severity,
                category: draft.category,
                policy_name: draft.policyName,
                policy_url: draft.policyUrl,
                labels: json(draft.labels),
                links: json(draft.links),
                determination: draft.determination,
                first_seen_at: firstSeenAt,
                last_seen_at: lastSeenAt,
                occurrence_count: count,
                raw: json(draft.raw ?? null),
                // A fingerprint that fires again after resolution opens a new alert that points back.
                previous_alert_id: sql<string | null>`(SELECT prev.id FROM alerts prev
            WHERE prev.fingerprint = ${draft.fingerprint} AND prev.status = 'resolved'
            ORDER BY prev.created_at DESC LIMIT 1)`,
                created_at: now,
                updated_at: now,
              })),
            )
            .onConflict((oc) =>
              oc
                .column('fingerprint')
                .where('status', '<>', 'resolved')
                .doUpdateSet({
                  occurrence_count: sql`alerts.occurrence_count + excluded.occurrence_count`,
                  last_seen_at: sql`greatest(alerts.last_seen_at, excluded.last_seen_at)`,
                  severity: sql`CASE WHEN array_position(${severityList}, excluded.severity)
              > array_position(${severityList}, alerts.severity) THEN excluded.severity ELSE alerts.severity END`,
                  revision: sql`alerts.revision + 1`,
                  updated_at: now,
                }),
            )
            .returning([
              'id',
              'number',
              'fingerprint',
              'occurrence_count',
              sql<boolean>`(xmax = 0)`.as('inserted'),
            ])
            .execute();
    const rows = [...lateRows, ...upserted];

    const byFingerprint = new Map(rows.map((row) => [row.fingerprint, row]));
    const outcomes = groups.map((group) => {
      const row = byFingerprint.get(group.draft.fingerprint);
      if (row === undefined)
        throw new Error(`upsert returned no row for fingerprint ${group.draft.fingerprint}`);
      return {
        alertId: row.id,
        number: row.number,
        duplicate: !row.inserted,
        occurrenceCount: row.occurrence_count,
      };
    });

    const entities = ordered.flatMap((group) => {
      const alertId = byFingerprint.get(group.draft.fingerprint)?.id as string;
      return group.draft.entities.map((entity) => ({
        alert_id: alertId,
        kind: entity.kind,
        key: entity.key,
        display_name: entity.displayName,
        roles: json(entity.roles),
        attributes: json(entity.attributes),
      }));
    });
    if (entities.length > 0) {
      entities.sort((a, b) => (a.alert_id + a.kind + a.key < b.alert_id + b.kind + b.key ? -1 : 1));
      // Six parameters a row: a batch within the limits can need more than one statement.
      for (const chunk of inChunks(entities, 6)) {
        await trx
          .insertInto('alert_entities')
          .values(chunk)
          .onConflict((oc) => oc.columns(['alert_id', 'kind', 'key']).doNothing())
          .execute();
      }
    }

    const audit: AuditEntry[] = groups.map((group, index) => {
      const outcome = outcomes[index] as OccurrenceOutcome;
      return {
        alertId: outcome.alertId,
        actor: { kind: 'source', source: group.draft.source },
        action: outcome.duplicate ? 'alert.occurred_again' : 'alert.created',
        details: outcome.duplicate
          ? { occurrences: group.count, occurrenceCount: outcome.occurrenceCount }
          : {
              occurrences: group.count,
              fingerprint: group.draft.fingerprint,
              severity: group.draft.severity,
            },
        at: now,
      };
    });
    await appendAudit(trx, audit);
    // Policies and silences for the new alerts, in this transaction (see applyPoliciesAtIngest).
    await applyPoliciesAtIngest(
      trx,
      handle.schema,
      groups.flatMap((group, index) =>
        outcomes[index]?.duplicate === false
          ? [{ alertId: (outcomes[index] as OccurrenceOutcome).alertId, draft: group.draft }]
          : [],
      ),
      now,
      context.policyGeneration,
    );
    await appendOutbox(
      trx,
      outcomes.map((outcome) => notify(outcome.alertId, outcome.duplicate ? 'occurred' : 'created')),
    );
    // New alerts start or join investigations in this same transaction (one set-based query),
    // unless there is neither a rule to start one nor an open one to join.
    if (context.mayInvestigate)
      await planInvestigations(
        trx,
        outcomes.filter((outcome) => !outcome.duplicate).map((outcome) => outcome.alertId),
        now,
      );
    // Graph alerts Defender grouped into an incident join it (created on first sight).
    await joinIncidents(
      trx,
      groups.flatMap((group, index) =>
        group.draft.source === 'graph' && outcomes[index]?.duplicate === false
          ? [
              {
                alertId: (outcomes[index] as OccurrenceOutcome).alertId,
                incidentGraphId: group.draft.labels.incidentId,
              },
            ]
          : [],
      ),
      now,
    );
    return outcomes;
  });
}

export type SourceStatusOutcome =
  | { readonly kind: 'changed' | 'unchanged'; readonly alertId: string; readonly number: string }
  | { readonly kind: 'no_open_alert' };

/**
 * Applies a source's own status change (Alertmanager `resolved`, PagerDuty `acknowledge` or
 * `resolve`) to the open alert of that fingerprint, with the source as actor.
 */
export async function applySourceStatus(
  handle: DbHandle,
  event: Extract<IngestEvent, { kind: 'source_status' }>,
  clock: Clock,
): Promise<SourceStatusOutcome> {
  const open = await handle.db
    .selectFrom('alerts')
    .select(['id', 'number'])
    .where('fingerprint', '=', event.fingerprint)
    .where('status', '<>', 'resolved')
    .executeTakeFirst();
  if (open === undefined) return { kind: 'no_open_alert' };
  // The change is dated when it happened at the source, if that was earlier than now.
  const atSource: Clock = { now: () => new Date(Math.min(event.at.getTime(), clock.now().getTime())) };
  const result = await changeAlert(handle, open.id, { kind: 'source', source: event.source }, atSource, {
    type: 'status',
    request: { action: event.action, classification: event.classification },
  });
  // A concurrent change may have moved it first; either way the source's wish is met or moot.
  if (!result.ok) return { kind: 'unchanged', alertId: open.id, number: open.number };
  return { kind: result.value.changed ? 'changed' : 'unchanged', alertId: open.id, number: open.number };
}
