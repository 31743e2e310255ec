import { z } from 'zod';
import { type ChatChannel, PermanentChatError } from '../domain/index.js';
import type { Logger } from '../logger.js';
import { getAlert } from '../storage/alert.repository.js';
import { recordCardFailed, recordCardRendered, withCardLock } from '../storage/card.repository.js';
import type { DbHandle } from '../storage/db.js';
import { cardInvestigations } from '../storage/investigation-view.repository.js';
import { isMuted } from '../storage/policy.repository.js';

export const notifyPayload = z.object({
  alertId: z.uuid(),
  reason: z.enum(['created', 'occurred', 'status_changed', 'assigned', 'investigation']),
});

/**
 * Brings every card of an alert up to date on every platform: posts where there is none yet,
 * updates where the card shows an older revision, and does nothing where it is current. Many
 * notify jobs for one alert therefore coalesce: whichever runs first renders the latest state,
 * the rest find nothing to do. A permanent platform refusal is recorded on the card and logged,
 * never retried; any other failure retries the job (the cards already current are skipped).
 */
export async function deliverAlert(
  deps: { handle: DbHandle; channels: readonly ChatChannel[]; logger: Logger },
  alertId: string,
): Promise<void> {
  const { handle, channels, logger } = deps;
  // A silenced alert is stored and counted (on the alert and its silence) but never posted.
  if (await isMuted(handle.db, alertId)) return;
  const stored = await getAlert(handle.db, alertId);
  if (stored === null) return;
  const alert = { ...stored, investigations: await cardInvestigations(handle.db, alertId) };
  for (const channel of channels) {
    for (const target of await channel.targetsFor(alert)) {
      await withCardLock(handle.db, { alertId, platform: channel.platform, target }, async (card, trx) => {
        // Under the card's lock, render the state committed now: re-read only if it moved since.
        const revision = await trx
          .selectFrom('alerts')
          .select('revision')
          .where('id', '=', alertId)
          .executeTakeFirst();
        if (revision === undefined || card.rendered_revision >= revision.revision) return;
        const reread = revision.revision === alert.revision ? null : await getAlert(trx, alertId);
        // The revision moved: its investigations may have too, and this render is recorded as the latest.
        const latest =
          reread === null ? alert : { ...reread, investigations: await cardInvestigations(trx, alertId) };
        try {
          let messageRef = card.message_ref;
          if (messageRef === null) {
            messageRef = (await channel.post(latest, target)).messageRef;
          } else {
            await channel.update(latest, target, messageRef);
          }
          await recordCardRendered(trx, card.id, messageRef, latest.revision);
        } catch (error) {
          if (!(error instanceof PermanentChatError)) throw error;
          logger.error(
            { alertId, platform: channel.platform, target, platformError: error.platformError },
            'chat platform refused the card permanently; not retrying',
          );
          await recordCardFailed(trx, card.id, error.platformError, latest.revision);
        }
      });
    }
  }
}
