import { sql } from 'kysely';
import {
  type Actor,
  type AuditEntry,
  type AutomationLevel,
  type Clock,
  DEFAULT_JOIN_WINDOW_SECONDS,
  DEFAULT_PLAYBOOK,
  fail,
  INVESTIGATION_KIND_OF,
  OPEN_INVESTIGATION_STATUSES,
  type OutboxMessage,
  ok,
  principalKey,
  type Result,
  SEVERITIES,
} from '../domain/index.js';
import { json } from './alert.mapper.js';
import { appendAudit } from './audit.repository.js';
import type { Db, DbHandle } from './db.js';
import { appendOutbox } from './outbox.repository.js';

// Quoted once from domain constants (never from input), so the SQL below mirrors the domain rules.
const kindMap = sql.raw(
  `(VALUES ${Object.entries(INVESTIGATION_KIND_OF)
    .map(([alertKind, kind]) => `('${alertKind}','${kind}')`)
    .join(',')}) AS kind_map(alert_kind, kind)`,
);
const severityList = sql.raw(`ARRAY[${SEVERITIES.map((s) => `'${s}'`).join(',')}]`);
const openStatuses = sql.raw(OPEN_INVESTIGATION_STATUSES.map((s) => `'${s}'`).join(','));

export const investigateMessage = (investigationId: string, round: number): OutboxMessage => ({
  topic: 'investigate',
  payload: { investigationId, round },
});

interface Planned {
  readonly kind: 'created' | 'joined';
  readonly investigation_id: string;
  readonly alert_id: string;
  readonly round: number;
}

/**
 * The ingest hook: for alerts just created in this transaction, applies the scope growth rule
 * (an alert sharing an entity with an open investigation within its window joins it, and the
 * investigation runs another round) and otherwise the investigation rules (the first enabled rule
 * that matches starts an investigation with the rule's playbook snapshotted). One set-based
 * statement for the batch; audit and `investigate` outbox rows only when something happened.
 * Alerts of one batch that share an entity with each other are not merged (each may start its
 * own investigation); the next batch's alerts join the newest.
 */
export async function planInvestigations(
  trx: Db,
  createdAlertIds: readonly string[],
  now: Date,
): Promise<void> {
  if (createdAlertIds.length === 0) return;
  const ids = [...createdAlertIds];
  const planned = await sql<Planned>`
    WITH new_alerts AS (
      SELECT id, source, severity, category FROM alerts WHERE id = ANY(${ids}::uuid[])
    ),
    new_entities AS (
      SELECT ae.alert_id, kind_map.kind, ae.key, ae.display_name, ae.attributes, ae.roles
      FROM alert_entities ae JOIN ${kindMap} ON kind_map.alert_kind = ae.kind
      WHERE ae.alert_id = ANY(${ids}::uuid[])
    ),
    joined AS (
      SELECT DISTINCT ON (ne.alert_id) ne.alert_id, i.id AS investigation_id
      FROM new_entities ne
      JOIN investigation_entities ie ON ie.kind = ne.kind AND ie.key = ne.key
      JOIN investigations i ON i.id = ie.investigation_id
      WHERE i.status IN (${openStatuses})
        AND i.created_at >= ${now}::timestamptz - make_interval(secs => i.join_window_seconds)
      ORDER BY ne.alert_id, i.created_at DESC
    ),
    matched AS (
      SELECT DISTINCT ON (na.id) na.id AS alert_id, r.id AS rule_id, r.name AS rule_name, r.playbook,
        r.automation, r.join_window_seconds
      FROM new_alerts na
      JOIN investigation_rules r ON r.enabled
        AND (r.source IS NULL OR r.source = na.source)
        AND array_position(${severityList}, na.severity) >= array_position(${severityList}, r.min_severity)
        AND (r.category IS NULL OR r.category = na.category)
      WHERE na.id NOT IN (SELECT alert_id FROM joined)
      ORDER BY na.id, r.created_at, r.id
    ),
    created AS (
      INSERT INTO investigations (trigger_alert_id, rule_id, playbook, automation, join_window_seconds,
        started_by, started_by_key, created_at, updated_at)
      SELECT alert_id, rule_id, playbook, automation, join_window_seconds,
        jsonb_build_object('kind', 'policy', 'policyId', rule_id::text, 'name', rule_name),
        'policy:' || rule_id::text, ${now}, ${now}
      FROM matched
      RETURNING id, trigger_alert_id
    ),
    links AS (
      INSERT INTO investigation_alerts (investigation_id, alert_id, reason, joined_at)
      SELECT id, trigger_alert_id, 'trigger', ${now}::timestamptz FROM created
      UNION ALL
      SELECT investigation_id, alert_id, 'shared_entity', ${now}::timestamptz FROM joined
      ON CONFLICT DO NOTHING
    ),
    scope AS (
      INSERT INTO investigation_entities (investigation_id, kind, key, display_name, attributes, source_alert_id)
      SELECT c.id, ne.kind, ne.key, ne.display_name,
        ne.attributes || jsonb_build_object('roles', ne.roles), ne.alert_id
      FROM created c JOIN new_entities ne ON ne.alert_id = c.trigger_alert_id
      UNION ALL
      SELECT j.investigation_id, ne.kind, ne.key, ne.display_name,
        ne.attributes || jsonb_build_object('roles', ne.roles), ne.alert_id
      FROM joined j JOIN new_entities ne ON ne.alert_id = j.alert_id
      ON CONFLICT (investigation_id, kind, key) DO NOTHING
    ),
    grown AS (
      UPDATE investigations SET scope_round = scope_round + 1, updated_at = ${now}
      WHERE id IN (SELECT investigation_id FROM joined)
      RETURNING id, scope_round
    )
    SELECT 'created' AS kind, id AS investigation_id, trigger_alert_id AS alert_id, 1 AS round FROM created
    UNION ALL
    SELECT 'joined', j.investigation_id, j.alert_id, g.scope_round FROM joined j JOIN grown g ON g.id = j.investigation_id
  `.execute(trx);
  if (planned.rows.length === 0) return;
  const audit: AuditEntry[] = planned.rows.map((row) => ({
    alertId: row.alert_id,
    actor: { kind: 'system' },
    action: row.kind === 'created' ? 'alert.investigation_started' : 'alert.investigation_joined',
    details: { investigationId: row.investigation_id, automatic: true },
    at: now,
  }));
  await appendAudit(trx, audit);
  // One job per investigation and round: several alerts joining one investigation run it once more.
  const rounds = new Map<string, number>();
  for (const row of planned.rows) {
    rounds.set(row.investigation_id, Math.max(rounds.get(row.investigation_id) ?? 0, Number(row.round)));
  }
  await appendOutbox(
    trx,
    [...rounds].map(([id, round]) => investigateMessage(id, round)),
  );
}

export interface StartedInvestigation {
  readonly investigationId: string;
  readonly number: string;
  /** False when the alert was already in an open investigation (that one is returned). */
  readonly created: boolean;
}

/**
 * Starts an investigation of one alert by hand (the API's and chat's Investigate). Needs the
 * responder role; a refusal is audited. An alert already in an open investigation gets that
 * one back, so double clicks start nothing twice. The first enabled rule matching the alert
 * gives the playbook and automation level; without one, the default playbook with approvals.
 */
export async function startInvestigation(
  handle: DbHandle,
  alertId: string,
  actor: Actor,
  clock: Clock,
  /** A policy's choice: the playbook (the name of a rule's playbook) and the automation level. */
  chosen: { readonly playbook?: string; readonly automation?: AutomationLevel } = {},
): Promise<Result<StartedInvestigation>> {
  const now = clock.now();
  return handle.db.transaction().execute(async (trx) => {
    // Locks the alert: concurrent starts of one alert serialise here and the second finds the first.
    const alert = await trx
      .selectFrom('alerts')
      .select(['id', 'source', 'severity', 'category'])
      .where('id', '=', alertId)
      .forUpdate()
      .executeTakeFirst();
    if (alert === undefined) return fail('alert.not_found', `No alert ${alertId}.`);
    const existing = await trx
      .selectFrom('investigation_alerts as ia')
      .innerJoin('investigations as i', 'i.id', 'ia.investigation_id')
      .select(['i.id', 'i.number'])
      .where('ia.alert_id', '=', alertId)
      .where('i.status', 'in', OPEN_INVESTIGATION_STATUSES)
      .orderBy('i.created_at', 'desc')
      .executeTakeFirst();
    if (existing !== undefined)
      return ok({ investigationId: existing.id, number: existing.number, created: false });

    const rule = await sql<{
      id: string;
      playbook: unknown;
      automation: string;
      join_window_seconds: number;
    }>`
      SELECT id, playbook, automation, join_window_seconds FROM investigation_rules r
      WHERE r.enabled AND (r.source IS NULL OR r.source = ${alert.source})
        AND array_position(${severityList}, ${alert.severity}::text) >= array_position(${severityList}, r.min_severity)
        AND (r.category IS NULL OR r.category = ${alert.category})
      ORDER BY r.created_at, r.id LIMIT 1`
      .execute(trx)
      .then((result) => result.rows[0]);
    // A playbook chosen by name is the one of the rule that holds it; an unknown name falls back to the default.
    const named =
      chosen.playbook === undefined
        ? undefined
        : await sql<{ playbook: unknown }>`SELECT playbook FROM investigation_rules
            WHERE playbook->>'name' = ${chosen.playbook} ORDER BY created_at LIMIT 1`
            .execute(trx)
            .then((result) => result.rows[0]?.playbook);
    const created = await trx
      .insertInto('investigations')
      .values({
        trigger_alert_id: alertId,
        rule_id: rule?.id ?? null,
        playbook: json(
          chosen.playbook === undefined ? (rule?.playbook ?? DEFAULT_PLAYBOOK) : (named ?? DEFAULT_PLAYBOOK),
        ),
        automation: chosen.automation ?? rule?.automation ?? 'semi',
        join_window_seconds: rule?.join_window_seconds ?? DEFAULT_JOIN_WINDOW_SECONDS,
        started_by: json(actor),
        started_by_key: principalKey(actor),
        created_at: now,
        updated_at: now,
      })
      .returning(['id', 'number'])
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('investigation_alerts')
      .values({ investigation_id: created.id, alert_id: alertId, reason: 'manual', joined_at: now })
      .execute();
    await sql`
      INSERT INTO investigation_entities (investigation_id, kind, key, display_name, attributes, source_alert_id)
      SELECT ${created.id}::uuid, kind_map.kind, ae.key, ae.display_name,
        ae.attributes || jsonb_build_object('roles', ae.roles), ae.alert_id
      FROM alert_entities ae JOIN ${kindMap} ON kind_map.alert_kind = ae.kind
      WHERE ae.alert_id = ${alertId}
      ON CONFLICT DO NOTHING`.execute(trx);
    await appendAudit(trx, [
      {
        alertId,
        actor,
        action: 'alert.investigation_started',
        details: { investigationId: created.id, automatic: false },
        at: now,
      },
    ]);
    await appendOutbox(trx, [investigateMessage(created.id, 1)]);
    return ok({ investigationId: created.id, number: created.number, created: true });
  });
}
