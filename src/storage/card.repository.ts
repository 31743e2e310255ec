import { sql } from 'kysely';
import type { Db } from './db.js';
import type { CardRow } from './schema.js';

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

/**
 * Runs `work` holding the lock of one card (created if missing), so two notify jobs for the same
 * card take turns: the second finds the card already at the latest revision and does nothing.
 */
export async function withCardLock<T>(
  db: Db,
  key: { alertId: string; platform: string; target: string },
  work: (card: CardRow, trx: Db) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    // One statement creates the card if missing and locks it either way (ON CONFLICT DO UPDATE locks the row).
    const card = await trx
      .insertInto('cards')
      .values({ alert_id: key.alertId, platform: key.platform, target: key.target })
      .onConflict((oc) =>
        oc.columns(['alert_id', 'platform', 'target']).doUpdateSet({ platform: key.platform }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    return work(card, trx);
  });
}

export async function recordCardRendered(
  trx: Db,
  cardId: string,
  messageRef: string,
  revision: number,
): Promise<void> {
  await trx
    .updateTable('cards')
    .set({
      message_ref: messageRef,
      rendered_revision: revision,
      state: 'active',
      error: null,
      updated_at: sql`now()`,
    })
    .where('id', '=', cardId)
    .execute();
}

export async function recordCardFailed(
  trx: Db,
  cardId: string,
  error: string,
  revision: number,
): Promise<void> {
  await trx
    .updateTable('cards')
    .set({ state: 'failed', error, rendered_revision: revision, updated_at: sql`now()` })
    .where('id', '=', cardId)
    .execute();
}
