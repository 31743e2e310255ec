import {
  type Actor,
  type AutomationLevel,
  actorKey,
  type Clock,
  entityKey,
  type InvestigationEntityKind,
  type Playbook,
  type Severity,
} from '../domain/index.js';
import { json } from './alert.mapper.js';
import { appendAudit } from './audit.repository.js';
import type { Db, DbHandle } from './db.js';

export interface RuleInput {
  readonly name: string;
  readonly source: string | null;
  readonly minSeverity: Severity;
  readonly category: string | null;
  readonly playbook: Playbook;
  readonly automation: AutomationLevel;
  readonly joinWindowSeconds: number;
  readonly enabled: boolean;
}

export interface RuleView extends RuleInput {
  readonly id: string;
  readonly createdBy: string;
  readonly createdAt: Date;
}

export async function listRules(db: Db): Promise<RuleView[]> {
  const rows = await db
    .selectFrom('investigation_rules')
    .selectAll()
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    source: row.source,
    minSeverity: row.min_severity as Severity,
    category: row.category,
    playbook: row.playbook as Playbook,
    automation: row.automation as AutomationLevel,
    joinWindowSeconds: row.join_window_seconds,
    enabled: row.enabled,
    createdBy: row.created_by,
    createdAt: row.created_at,
  }));
}

/** Adds a rule (an admin's act, audited like role grants). */
export async function addRule(handle: DbHandle, rule: RuleInput, by: Actor, clock: Clock): Promise<RuleView> {
  return handle.db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('investigation_rules')
      .values({
        name: rule.name,
        source: rule.source,
        min_severity: rule.minSeverity,
        category: rule.category,
        playbook: json(rule.playbook),
        automation: rule.automation,
        join_window_seconds: rule.joinWindowSeconds,
        enabled: rule.enabled,
        created_by: actorKey(by),
        created_at: clock.now(),
      })
      .returning(['id', 'created_at'])
      .executeTakeFirstOrThrow();
    await appendAudit(trx, [
      {
        alertId: null,
        actor: by,
        action: 'investigation_rule.added',
        details: { ruleId: row.id, ...rule },
        at: clock.now(),
      },
    ]);
    return { ...rule, id: row.id, createdBy: actorKey(by), createdAt: row.created_at };
  });
}

export async function removeRule(handle: DbHandle, id: string, by: Actor, clock: Clock): Promise<boolean> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return false;
  return handle.db.transaction().execute(async (trx) => {
    const removed = await trx.deleteFrom('investigation_rules').where('id', '=', id).executeTakeFirst();
    if (Number(removed.numDeletedRows) === 0) return false;
    await appendAudit(trx, [
      {
        alertId: null,
        actor: by,
        action: 'investigation_rule.removed',
        details: { ruleId: id },
        at: clock.now(),
      },
    ]);
    return true;
  });
}

export interface WatchlistEntry {
  readonly id: string;
  readonly kind: InvestigationEntityKind;
  readonly value: string;
  readonly verdict: 'suspicious' | 'malicious';
  readonly reason: string;
  readonly createdBy: string;
  readonly createdAt: Date;
}

export async function listWatchlist(db: Db): Promise<WatchlistEntry[]> {
  const rows = await db.selectFrom('watchlist').selectAll().orderBy('created_at').orderBy('id').execute();
  return rows.map((row) => ({
    id: row.id,
    kind: row.kind as InvestigationEntityKind,
    value: row.value,
    verdict: row.verdict as 'suspicious' | 'malicious',
    reason: row.reason,
    createdBy: row.created_by,
    createdAt: row.created_at,
  }));
}

/** Adds (or re-words) an indicator; values of one kind are unique. */
export async function addWatch(
  handle: DbHandle,
  entry: Pick<WatchlistEntry, 'kind' | 'value' | 'verdict' | 'reason'>,
  by: Actor,
  clock: Clock,
): Promise<WatchlistEntry> {
  // Stored under the entity's key, so it meets the entity whatever case either was written in.
  const value = entityKey(entry.kind, entry.value);
  return handle.db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('watchlist')
      .values({ ...entry, value, created_by: actorKey(by), created_at: clock.now() })
      .onConflict((oc) =>
        oc.columns(['kind', 'value']).doUpdateSet({ verdict: entry.verdict, reason: entry.reason }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    await appendAudit(trx, [
      { alertId: null, actor: by, action: 'watchlist.added', details: { ...entry, value }, at: clock.now() },
    ]);
    return {
      id: row.id,
      kind: row.kind as InvestigationEntityKind,
      value: row.value,
      verdict: row.verdict as 'suspicious' | 'malicious',
      reason: row.reason,
      createdBy: row.created_by,
      createdAt: row.created_at,
    };
  });
}

export async function removeWatch(handle: DbHandle, id: string, by: Actor, clock: Clock): Promise<boolean> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return false;
  return handle.db.transaction().execute(async (trx) => {
    const removed = await trx.deleteFrom('watchlist').where('id', '=', id).returningAll().executeTakeFirst();
    if (removed === undefined) return false;
    await appendAudit(trx, [
      {
        alertId: null,
        actor: by,
        action: 'watchlist.removed',
        details: { kind: removed.kind, value: removed.value },
        at: clock.now(),
      },
    ]);
    return true;
  });
}
