import type { Selectable } from 'kysely';
import { sql } from 'kysely';
import type { Severity } from '../domain/index.js';
import type { Db } from './db.js';
import type { TeamsConversationsTable } from './schema.js';

/** What a proactive message to a Teams conversation needs, and what the conversation asked for. */
export interface TeamsConversation {
  /** The conversation ID (a channel's without the `;messageid=` thread suffix). */
  readonly id: string;
  readonly kind: 'personal' | 'groupChat' | 'channel';
  /** Per tenant and region; every call for this conversation goes there. */
  readonly serviceUrl: string;
  readonly tenantId: string | null;
  readonly teamId: string | null;
  readonly channelId: string | null;
  readonly name: string | null;
  readonly botId: string | null;
  /** For personal chats: the person, for direct notifications. */
  readonly userAadObjectId: string | null;
  readonly active: boolean;
  readonly subscription: TeamsSubscription | null;
}

/** Which alerts a conversation receives: at least `minSeverity`, from one of `sources` (null: any). */
export interface TeamsSubscription {
  readonly minSeverity: Severity | null;
  readonly sources: readonly string[] | null;
}

export type TeamsConversationRef = Omit<TeamsConversation, 'active' | 'subscription'>;

type Row = Selectable<TeamsConversationsTable>;

const toConversation = (row: Row): TeamsConversation => ({
  id: row.id,
  kind: row.kind as TeamsConversation['kind'],
  serviceUrl: row.service_url,
  tenantId: row.tenant_id,
  teamId: row.team_id,
  channelId: row.channel_id,
  name: row.name,
  botId: row.bot_id,
  userAadObjectId: row.user_aad_object_id,
  active: row.active,
  subscription: row.subscribed
    ? { minSeverity: row.min_severity as Severity | null, sources: row.sources }
    : null,
});

/**
 * Records (or refreshes) a conversation the bot is in. Any activity from Teams may carry a new
 * serviceUrl, and an activity proves the bot is there again, so both are taken from the latest one;
 * names and IDs already known are kept when a later activity leaves them out.
 */
export async function saveTeamsConversation(db: Db, ref: TeamsConversationRef): Promise<void> {
  await db
    .insertInto('teams_conversations')
    .values({
      id: ref.id,
      kind: ref.kind,
      service_url: ref.serviceUrl,
      tenant_id: ref.tenantId,
      team_id: ref.teamId,
      channel_id: ref.channelId,
      name: ref.name,
      bot_id: ref.botId,
      user_aad_object_id: ref.userAadObjectId,
    })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({
        service_url: sql`excluded.service_url`,
        tenant_id: sql`coalesce(excluded.tenant_id, teams_conversations.tenant_id)`,
        team_id: sql`coalesce(excluded.team_id, teams_conversations.team_id)`,
        channel_id: sql`coalesce(excluded.channel_id, teams_conversations.channel_id)`,
        name: sql`coalesce(excluded.name, teams_conversations.name)`,
        bot_id: sql`coalesce(excluded.bot_id, teams_conversations.bot_id)`,
        user_aad_object_id: sql`coalesce(excluded.user_aad_object_id, teams_conversations.user_aad_object_id)`,
        active: true,
        inactive_reason: null,
        updated_at: sql`now()`,
      }),
    )
    .execute();
}

export async function getTeamsConversation(db: Db, id: string): Promise<TeamsConversation | null> {
  const row = await db.selectFrom('teams_conversations').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : toConversation(row);
}

/** Active conversations with a subscription; the caller matches each alert against them. */
export async function subscribedTeamsConversations(db: Db): Promise<TeamsConversation[]> {
  const rows = await db
    .selectFrom('teams_conversations')
    .selectAll()
    .where('active', '=', true)
    .where('subscribed', '=', true)
    .orderBy('created_at')
    .execute();
  return rows.map(toConversation);
}

/** Active conversations that already show a card of this alert (kept current even after unsubscribe). */
export async function teamsConversationsWithCard(db: Db, alertId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('cards')
    .innerJoin('teams_conversations', 'teams_conversations.id', 'cards.target')
    .select('teams_conversations.id')
    .where('cards.alert_id', '=', alertId)
    .where('cards.platform', '=', 'teams')
    .where('cards.message_ref', 'is not', null)
    .where('teams_conversations.active', '=', true)
    .execute();
  return rows.map((row) => row.id);
}

export async function subscribeTeamsConversation(
  db: Db,
  id: string,
  subscription: TeamsSubscription,
  by: string,
): Promise<void> {
  await db
    .updateTable('teams_conversations')
    .set({
      subscribed: true,
      min_severity: subscription.minSeverity,
      sources: subscription.sources === null ? null : [...subscription.sources],
      subscribed_by: by,
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .execute();
}

export async function unsubscribeTeamsConversation(db: Db, id: string): Promise<boolean> {
  const result = await db
    .updateTable('teams_conversations')
    .set({ subscribed: false, updated_at: sql`now()` })
    .where('id', '=', id)
    .where('subscribed', '=', true)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** The bot was removed (a 403/404 from the connector, or an uninstall event): never used again until it is back. */
export async function deactivateTeamsConversation(db: Db, id: string, reason: string): Promise<void> {
  await db
    .updateTable('teams_conversations')
    .set({ active: false, inactive_reason: reason, updated_at: sql`now()` })
    .where('id', '=', id)
    .execute();
}
