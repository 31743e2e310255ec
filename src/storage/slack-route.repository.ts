import { sql } from 'kysely';
import {
  type Actor,
  type Alert,
  actorKey,
  notify,
  SEVERITIES,
  type Severity,
  severityRank,
} from '../domain/index.js';
import { json, toAlert } from './alert.mapper.js';
import type { StoredAlert } from './alert.repository.js';
import type { Db, DbHandle } from './db.js';
import { appendOutbox } from './outbox.repository.js';

/** A route: alerts that match go to `channel`. Empty matchers match everything. */
export interface ChatRoute {
  readonly id: string;
  readonly platform: 'slack';
  readonly channel: string;
  readonly sources: readonly string[];
  readonly minSeverity: Severity | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly position: number;
  readonly createdBy: string;
  readonly createdAt: Date;
}

export interface NewRoute {
  readonly channel: string;
  readonly sources: readonly string[];
  readonly minSeverity: Severity | null;
  readonly labels: Readonly<Record<string, string>>;
}

/** Does the route take this alert? Sources are compared lower-cased, labels exactly. */
export function routeMatches(
  route: Pick<ChatRoute, 'sources' | 'minSeverity' | 'labels'>,
  alert: Pick<Alert, 'source' | 'severity' | 'labels'>,
): boolean {
  if (route.sources.length > 0 && !route.sources.includes(alert.source.toLowerCase())) return false;
  if (route.minSeverity !== null && severityRank(alert.severity) < severityRank(route.minSeverity))
    return false;
  return Object.entries(route.labels).every(([key, value]) => alert.labels[key] === value);
}

export async function listRoutes(db: Db): Promise<ChatRoute[]> {
  const rows = await db
    .selectFrom('chat_routes')
    .selectAll()
    .where('platform', '=', 'slack')
    .orderBy('position')
    .orderBy('id')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    platform: 'slack',
    channel: row.channel,
    sources: row.sources,
    minSeverity: (SEVERITIES as readonly string[]).includes(row.min_severity ?? '')
      ? (row.min_severity as Severity)
      : null,
    labels: row.labels,
    position: row.position,
    createdBy: row.created_by,
    createdAt: row.created_at,
  }));
}

export async function addRoute(db: Db, route: NewRoute, by: Actor): Promise<ChatRoute> {
  const row = await db
    .insertInto('chat_routes')
    .values({
      platform: 'slack',
      channel: route.channel,
      sources: route.sources.map((source) => source.toLowerCase()),
      min_severity: route.minSeverity,
      labels: json(route.labels),
      position: sql<number>`coalesce((SELECT max(position) + 1 FROM chat_routes WHERE platform = 'slack'), 0)`,
      created_by: actorKey(by),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const added = (await listRoutes(db)).find((item) => item.id === row.id);
  if (added === undefined) throw new Error(`route ${row.id} vanished after insert`);
  return added;
}

export async function removeRoute(db: Db, id: string): Promise<boolean> {
  if (!/^\d{1,18}$/.test(id)) return false;
  const result = await db
    .deleteFrom('chat_routes')
    .where('id', '=', id)
    .where('platform', '=', 'slack')
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** The channels of every matching route, in route order, without repeats. */
export async function routedChannels(
  db: Db,
  alert: Pick<Alert, 'source' | 'severity' | 'labels'>,
): Promise<string[]> {
  const routes = await listRoutes(db);
  return [...new Set(routes.filter((route) => routeMatches(route, alert)).map((route) => route.channel))];
}

/** The status and assignment changes after `afterAuditId`, oldest first: what a card's thread has not been told. */
export async function changesSince(
  db: Db,
  alertId: string,
  afterAuditId: string,
): Promise<{ id: string; action: string; actor: Actor; details: Record<string, unknown>; at: Date }[]> {
  const rows = await db
    .selectFrom('audit_log')
    .select(['id', 'action', 'actor', 'details', 'at'])
    .where('alert_id', '=', alertId)
    .where('action', 'in', ['alert.status_changed', 'alert.assigned'])
    .where('id', '>', afterAuditId)
    .orderBy('id')
    .limit(20)
    .execute();
  return rows.map((row) => ({ ...row, actor: row.actor as Actor }));
}

export async function lastChangeId(db: Db, alertId: string): Promise<string> {
  const row = await db
    .selectFrom('audit_log')
    .select((eb) => eb.fn.max('id').as('id'))
    .where('alert_id', '=', alertId)
    .where('action', 'in', ['alert.status_changed', 'alert.assigned'])
    .executeTakeFirst();
  return (row?.id as string | null | undefined) ?? '0';
}

export async function threadNotedUpTo(db: Db, alertId: string, channel: string): Promise<string | null> {
  const row = await db
    .selectFrom('slack_thread_notes')
    .select('last_audit_id')
    .where('alert_id', '=', alertId)
    .where('channel', '=', channel)
    .executeTakeFirst();
  return row?.last_audit_id ?? null;
}

export async function recordThreadNoted(
  db: Db,
  alertId: string,
  channel: string,
  auditId: string,
): Promise<void> {
  await db
    .insertInto('slack_thread_notes')
    .values({ alert_id: alertId, channel, last_audit_id: auditId })
    .onConflict((oc) =>
      oc.columns(['alert_id', 'channel']).doUpdateSet({
        last_audit_id: sql`greatest(slack_thread_notes.last_audit_id, excluded.last_audit_id)`,
        updated_at: sql`now()`,
      }),
    )
    .execute();
}

/**
 * Makes the pipeline re-render one Slack card even though it is at the latest revision (a person
 * clicked a card their client showed stale): the card's revision is wound back and a notify
 * outbox row written, in one transaction.
 */
export async function requestCardRefresh(handle: DbHandle, alertId: string, channel: string): Promise<void> {
  await handle.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('cards')
      .set({ rendered_revision: 0 })
      .where('alert_id', '=', alertId)
      .where('platform', '=', 'slack')
      .where('target', '=', channel)
      .where('message_ref', 'is not', null)
      .execute();
    await appendOutbox(trx, [notify(alertId, 'status_changed')]);
  });
}

/** Open alerts assigned to a Slack user, most severe first. */
export async function openAlertsAssignedTo(db: Db, userId: string, limit: number): Promise<StoredAlert[]> {
  const rows = await db
    .selectFrom('alerts')
    .selectAll()
    .where('status', '!=', 'resolved')
    .where(sql<boolean>`assignee->>'platform' = 'slack' AND assignee->>'id' = ${userId}`)
    .orderBy(sql`array_position(${sql.val([...SEVERITIES].reverse())}::text[], severity)`)
    .orderBy('last_seen_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((row) => toAlert(row));
}

/** Open alerts with a card in any of `channels` (all Slack channels when null), most severe first. */
export async function openAlertsCardedIn(
  db: Db,
  channels: readonly string[] | null,
  limit: number,
): Promise<StoredAlert[]> {
  if (channels !== null && channels.length === 0) return [];
  let cards = db.selectFrom('cards').select('alert_id').where('platform', '=', 'slack');
  if (channels !== null) cards = cards.where('target', 'in', channels);
  const rows = await db
    .selectFrom('alerts')
    .selectAll()
    .where('status', '!=', 'resolved')
    .where('id', 'in', cards)
    .orderBy(sql`array_position(${sql.val([...SEVERITIES].reverse())}::text[], severity)`)
    .orderBy('last_seen_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((row) => toAlert(row));
}
