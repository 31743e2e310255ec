import { randomUUID } from 'node:crypto';
import { type NotNull, sql } from 'kysely';
import { type Db, named, prepared } from './db.js';
import type { CardRow, CardsTable } from './schema.js';

/** Every column of `cards`, named (see `named`). */
const CARD_COLUMNS = [
  'id',
  'alert_id',
  'platform',
  'target',
  'message_ref',
  'rendered_revision',
  'rendered_incident',
  'state',
  'error',
  'claimed_by',
  'lease_until',
  'post_attempted_at',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof CardsTable)[];

/** A card as the console and API show it. */
export interface CardView {
  readonly platform: string;
  readonly target: string;
  readonly messageRef: string | null;
  readonly renderedRevision: number;
  readonly state: string;
  readonly error: string | null;
  readonly updatedAt: Date;
}

const toView = (row: CardRow): CardView => ({
  platform: row.platform,
  target: row.target,
  messageRef: row.message_ref,
  renderedRevision: row.rendered_revision,
  state: row.state,
  error: row.error,
  updatedAt: row.updated_at,
});

export async function cardsOf(db: Db, alertId: string): Promise<CardView[]> {
  const rows = await db
    .selectFrom('cards')
    .selectAll()
    .where('alert_id', '=', alertId)
    .orderBy('created_at')
    .execute();
  return rows.map(toView);
}

/** Where the live cards of an alert on one platform were posted (a channel or conversation, and the message), oldest first. */
export async function postedCards(
  db: Db,
  alertId: string,
  platform: string,
): Promise<{ readonly target: string; readonly messageRef: string }[]> {
  const rows = await db
    .selectFrom('cards')
    .select(['target', 'message_ref'])
    .where('alert_id', '=', alertId)
    .where('platform', '=', platform)
    .where('state', '=', 'active')
    .where('message_ref', 'is not', null)
    .$narrowType<{ message_ref: NotNull }>()
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ target: row.target, messageRef: row.message_ref }));
}

export interface CardKey {
  readonly alertId: string;
  readonly platform: string;
  readonly target: string;
}

/**
 * What a card shows, as far as deciding whether it is current goes: the alert's revision, and
 * its incident section (see `cardIncidentKey`), which siblings' changes move without touching
 * this alert's row.
 */
export interface CardVersion {
  readonly revision: number;
  readonly incident: string | null;
}

/** A card showing `version` is behind the alert (or its incident) as read now. */
export const isBehind = (
  card: Pick<CardRow, 'rendered_revision' | 'rendered_incident'>,
  version: CardVersion,
): boolean => card.rendered_revision < version.revision || card.rendered_incident !== version.incident;

/** A card of a local channel (see `LocalChannel`) to show `version`. */
export interface LocalCard extends CardKey {
  readonly version: CardVersion;
}

/** See `recordLocalCards`; prepared, as it runs for every batch of a storm. */
const writeLocalCards = prepared(
  'vigil_record_local_cards',
  `INSERT INTO cards AS c (alert_id, platform, target, state, message_ref, rendered_revision, rendered_incident)
  SELECT w.alert_id, w.platform, w.target, 'active', w.platform || '-' || gen_random_uuid(), w.revision, w.incident
  FROM json_to_recordset($1::json) AS w(alert_id uuid, platform text, target text, revision integer, incident text)
  -- Written in key order, so two jobs writing cards of the same alerts cannot deadlock.
  ORDER BY w.alert_id, w.platform, w.target
  ON CONFLICT (alert_id, platform, target) DO UPDATE SET
    rendered_revision = excluded.rendered_revision,
    rendered_incident = excluded.rendered_incident,
    message_ref = coalesce(c.message_ref, excluded.message_ref),
    state = 'active',
    error = NULL,
    claimed_by = NULL,
    lease_until = NULL,
    updated_at = now()
  WHERE c.rendered_revision < excluded.rendered_revision
    OR (c.rendered_revision = excluded.rendered_revision
      AND c.rendered_incident IS DISTINCT FROM excluded.rendered_incident)
  RETURNING c.alert_id, c.platform, c.target, (c.xmax = 0) AS posted`,
);

/**
 * Records cards that never leave Vigil as rendered, all in one statement and with no claim (there
 * is no call to fail, nor a message to find again): new ones are created with a reference of
 * their own, older ones brought to their version (a claim an earlier release took on one is
 * ended), one already current is left alone. Returns the cards written, each as posted (new) or
 * updated. At most one card per key.
 */
export async function recordLocalCards(
  db: Db,
  cards: readonly LocalCard[],
): Promise<(CardKey & { readonly kind: 'post' | 'update' })[]> {
  if (cards.length === 0) return [];
  const wanted = cards.map((card) => ({
    alert_id: card.alertId,
    platform: card.platform,
    target: card.target,
    revision: card.version.revision,
    incident: card.version.incident,
  }));
  const { rows } = await db.executeQuery<{
    alert_id: string;
    platform: string;
    target: string;
    posted: boolean;
  }>(writeLocalCards(JSON.stringify(wanted)));
  return rows.map((row) => ({
    alertId: row.alert_id,
    platform: row.platform,
    target: row.target,
    kind: row.posted ? 'post' : 'update',
  }));
}

/** A card claimed for one render: `token` proves the claim when the result is recorded. */
export interface ClaimedCard {
  readonly card: CardRow;
  readonly token: string;
}

/**
 * Claims a card (created if missing) to render `version` on it, in one statement and no
 * transaction: taken only if the card is behind it and no live claim holds it (a claim
 * whose lease ran out belonged to a worker that died or hung). A card without a message is in
 * state `posting` while claimed. Returns null when there is nothing to do or another worker holds
 * it; `busy` says which.
 */
export async function claimCard(
  db: Db,
  key: CardKey,
  version: CardVersion,
  leaseMs: number,
): Promise<ClaimedCard | { readonly busy: boolean }> {
  const token = randomUUID();
  const lease = sql<Date>`now() + make_interval(secs => ${leaseMs / 1000})`;
  const { rows } = await db.executeQuery(
    named(
      'vigil_claim_card',
      db
        .insertInto('cards')
        .values({
          alert_id: key.alertId,
          platform: key.platform,
          target: key.target,
          state: 'posting',
          claimed_by: token,
          lease_until: lease,
        })
        .onConflict((oc) =>
          oc
            .columns(['alert_id', 'platform', 'target'])
            .doUpdateSet({
              claimed_by: token,
              lease_until: lease,
              state: sql`CASE WHEN cards.message_ref IS NULL THEN 'posting' ELSE 'active' END`,
            })
            .where((eb) =>
              eb.or([
                eb('cards.rendered_revision', '<', version.revision),
                eb('cards.rendered_incident', 'is distinct from', version.incident),
              ]),
            )
            .where((eb) =>
              eb.or([eb('cards.lease_until', 'is', null), eb('cards.lease_until', '<', sql<Date>`now()`)]),
            ),
        )
        .returning(CARD_COLUMNS),
    ),
  );
  const card = rows[0];
  if (card !== undefined) return { card, token };
  // Not taken: find out whether it is current (nothing to do) or held by another claim (come back).
  const current = await db
    .selectFrom('cards')
    .select(['rendered_revision', 'rendered_incident'])
    .where('alert_id', '=', key.alertId)
    .where('platform', '=', key.platform)
    .where('target', '=', key.target)
    .executeTakeFirst();
  return { busy: current !== undefined && isBehind(current, version) };
}

/**
 * Notes, just before the platform is asked to post, that a message may exist from now on (the
 * first such moment is kept: a message to look for is at most this old). Fails if the claim
 * was lost meanwhile, so the caller does not post under someone else's claim.
 */
export async function notePostAttempt(db: Db, claim: ClaimedCard): Promise<void> {
  const result = await db
    .updateTable('cards')
    .set({ post_attempted_at: sql`coalesce(post_attempted_at, now())` })
    .where('id', '=', claim.card.id)
    .where('claimed_by', '=', claim.token)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) throw new CardClaimLostError(claim.card.id);
}

/** Another worker took the card over (our lease ran out mid-call); its render wins. */
export class CardClaimLostError extends Error {
  constructor(cardId: string) {
    super(`the claim on card ${cardId} was lost`);
    this.name = 'CardClaimLostError';
  }
}

/**
 * Records a render and ends the claim, only while the claim is still ours: a worker whose lease
 * ran out while it waited on the platform must not overwrite the one that took over. Returns
 * whether it was recorded.
 */
export async function recordCardRendered(
  db: Db,
  claim: ClaimedCard,
  messageRef: string,
  version: CardVersion,
): Promise<boolean> {
  const result = await db.executeQuery(
    named(
      'vigil_card_rendered',
      db
        .updateTable('cards')
        .set({
          message_ref: messageRef,
          rendered_revision: sql`greatest(rendered_revision, ${version.revision})`,
          rendered_incident: version.incident,
          state: 'active',
          error: null,
          claimed_by: null,
          lease_until: null,
          updated_at: sql`now()`,
        })
        .where('id', '=', claim.card.id)
        .where('claimed_by', '=', claim.token),
    ),
  );
  return (result.numAffectedRows ?? 0n) > 0n;
}

/** Records the message a post left behind (found again after a lost answer), keeping the claim. */
export async function recordMessageRef(db: Db, claim: ClaimedCard, messageRef: string): Promise<void> {
  const result = await db
    .updateTable('cards')
    .set({ message_ref: messageRef, state: 'active', updated_at: sql`now()` })
    .where('id', '=', claim.card.id)
    .where('claimed_by', '=', claim.token)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) throw new CardClaimLostError(claim.card.id);
}

/**
 * Ends a claim without a render (the platform said wait, or the call failed), so the retry need
 * not wait out the lease. `notPosted`: the platform certainly did not post (a refusal, a rate
 * limit), so a post attempt noted by this claim is forgotten and the retry need not look for it.
 */
export async function releaseCard(db: Db, claim: ClaimedCard, notPosted: boolean): Promise<void> {
  await db
    .updateTable('cards')
    .set({
      claimed_by: null,
      lease_until: null,
      ...(notPosted ? { post_attempted_at: claim.card.post_attempted_at } : {}),
    })
    .where('id', '=', claim.card.id)
    .where('claimed_by', '=', claim.token)
    .execute();
}

/** The platform refused the card for good: recorded at the revision tried, so a later change tries again. */
export async function recordCardFailed(
  db: Db,
  claim: ClaimedCard,
  error: string,
  version: CardVersion,
): Promise<void> {
  await db
    .updateTable('cards')
    .set({
      state: 'failed',
      error,
      rendered_revision: sql`greatest(rendered_revision, ${version.revision})`,
      rendered_incident: version.incident,
      claimed_by: null,
      lease_until: null,
      post_attempted_at: claim.card.post_attempted_at,
      updated_at: sql`now()`,
    })
    .where('id', '=', claim.card.id)
    .where('claimed_by', '=', claim.token)
    .execute();
}
