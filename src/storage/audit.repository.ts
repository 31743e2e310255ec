import { type Actor, type AuditEntry, actorKey } from '../domain/index.js';
import { json } from './alert.mapper.js';
import { type Db, prepared } from './db.js';
import type { AuditRow } from './schema.js';

const auditRows = (entries: readonly AuditEntry[]) =>
  entries.map((entry) => ({
    alert_id: entry.alertId,
    actor: json(entry.actor),
    actor_key: actorKey(entry.actor),
    person_id: entry.actor.kind === 'user' ? (entry.actor.personId ?? null) : null,
    action: entry.action,
    details: json(entry.details),
    at: entry.at,
  }));

/** Appends audit rows; call inside the transaction that made the change. */
export async function appendAudit(trx: Db, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const rows = entries.map((entry, ord) => ({
    ord,
    alertId: entry.alertId,
    actor: entry.actor,
    actorKey: actorKey(entry.actor),
    personId: entry.actor.kind === 'user' ? (entry.actor.personId ?? null) : null,
    action: entry.action,
    details: entry.details,
    at: entry.at,
  }));
  await trx.executeQuery(insertAudit(JSON.stringify(rows)));
}

/** One statement text for any number of rows (see `prepared`), written in the order given. */
const insertAudit = prepared(
  'vigil_append_audit',
  `INSERT INTO audit_log (alert_id, actor, actor_key, person_id, action, details, at)
  SELECT a."alertId", a.actor, a."actorKey", a."personId", a.action, a.details, a.at
  FROM json_to_recordset($1::json)
    AS a(ord int, "alertId" uuid, actor jsonb, "actorKey" text, "personId" uuid, action text, details jsonb, at timestamptz)
  ORDER BY a.ord`,
);

/**
 * The statement that makes a change, with its audit rows (at least one) appended by the same
 * statement: one round trip fewer per change than `appendAudit` after it.
 */
export const withAudit = (trx: Db, entries: readonly [AuditEntry, ...AuditEntry[]]) =>
  trx.with('audit_rows', (db) => db.insertInto('audit_log').values(auditRows(entries)));

/**
 * Records a refused change (`silence.refused`, `policy.refused`): nothing else changed, so the
 * row is written on its own. Details say what was asked and why it was refused.
 */
export async function auditRefused(
  db: Db,
  actor: Actor,
  action: `${string}.refused`,
  details: Readonly<Record<string, unknown>>,
  at: Date,
): Promise<void> {
  await appendAudit(db, [{ alertId: null, actor, action, details, at }]);
}

export interface AuditView {
  readonly id: string;
  readonly actor: Actor;
  readonly actorKey: string;
  readonly action: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly at: Date;
}

/** The trail of one alert, oldest first. */
export async function auditTrail(db: Db, alertId: string): Promise<AuditView[]> {
  const rows = await db
    .selectFrom('audit_log')
    .selectAll()
    .where('alert_id', '=', alertId)
    .orderBy('id')
    .execute();
  return rows.map(toAuditView);
}

export const toAuditView = (row: AuditRow): AuditView => ({
  id: row.id,
  actor: row.actor as Actor,
  actorKey: row.actor_key,
  action: row.action,
  details: row.details,
  at: row.at,
});
