import { sql } from 'kysely';
import type { AlertEntity } from '../domain/index.js';
import { toAlert, toEntity } from './alert.mapper.js';
import type { StoredAlert } from './alert.repository.js';
import { type AuditView, toAuditView } from './audit.repository.js';
import type { Db } from './db.js';

/**
 * Bounded reads of an alert's entities and audit trail for the API: an alert that fires for
 * months gathers thousands of both, and one answer must not carry them all.
 */

/** The alert with at most `entityLimit` of its entities (in kind, key order) and how many it has. */
export async function alertWithFirstEntities(
  db: Db,
  id: string,
  entityLimit: number,
): Promise<{ alert: StoredAlert; entityCount: number } | null> {
  const row = await db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
  if (row === undefined) return null;
  const [entities, count] = await Promise.all([
    alertEntityPage(db, id, entityLimit),
    db
      .selectFrom('alert_entities')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('alert_id', '=', id)
      .executeTakeFirstOrThrow(),
  ]);
  return { alert: toAlert(row, entities), entityCount: Number(count.count) };
}

/** Entities in (kind, key) order, after `after` when given. */
export async function alertEntityPage(
  db: Db,
  alertId: string,
  limit: number,
  after?: { readonly kind: string; readonly key: string },
): Promise<AlertEntity[]> {
  let query = db
    .selectFrom('alert_entities')
    .selectAll()
    .where('alert_id', '=', alertId)
    .orderBy('kind')
    .orderBy('key')
    .limit(limit);
  if (after !== undefined) query = query.where(sql<boolean>`(kind, key) > (${after.kind}, ${after.key})`);
  return (await query.execute()).map(toEntity);
}

/** Audit entries oldest first, after the entry `afterId` when given. */
export async function auditPage(
  db: Db,
  alertId: string,
  limit: number,
  afterId?: string,
): Promise<AuditView[]> {
  let query = db
    .selectFrom('audit_log')
    .selectAll()
    .where('alert_id', '=', alertId)
    .orderBy('id')
    .limit(limit);
  if (afterId !== undefined) query = query.where('id', '>', afterId);
  return (await query.execute()).map(toAuditView);
}

/** The newest `limit` audit entries, oldest first, and whether older ones exist. */
export async function latestAudit(
  db: Db,
  alertId: string,
  limit: number,
): Promise<{ entries: AuditView[]; older: boolean }> {
  const rows = await db
    .selectFrom('audit_log')
    .selectAll()
    .where('alert_id', '=', alertId)
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
  return { entries: rows.slice(0, limit).reverse().map(toAuditView), older: rows.length > limit };
}
