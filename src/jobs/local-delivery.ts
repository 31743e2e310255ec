import PQueue from 'p-queue';
import type { ChatChannel, LocalChannel } from '../domain/index.js';
import { claimDueNotifyRows } from '../storage/outbox.repository.js';
import { deliverAlerts, type NotifyDeps, notifyPayload } from './notify.worker.js';

/** Delivers up to `limit` due card refreshes; resolves with how many rows it took. */
export type LocalDelivery = (limit: number) => Promise<number>;

/**
 * Card refreshes for an install whose every chat channel is local (no chat platform configured:
 * the log channel). Nothing leaves the process, so there is no call to keep out of a transaction:
 * the relay claims the due rows, writes their cards and marks the rows done in one transaction,
 * with no job, no Redis round trip and no second pass over the rows. Returns null when a channel
 * is remote (its cards are rendered by notify jobs, outside any transaction).
 *
 * If anything in a batch fails (a row whose payload does not parse, a card write), the whole
 * transaction rolls back and this throws: the relay then hands the rows to the notify queue, whose
 * jobs retry each row with its own backoff and give a bad one up alone.
 */
export function localDelivery(deps: Omit<NotifyDeps, 'renders'>): LocalDelivery | null {
  if (deps.channels.length === 0 || !deps.channels.every((channel) => channel.local === true)) return null;
  // One transaction's renders: its connection runs one statement at a time anyway.
  const renders = new PQueue({ concurrency: 1 });
  return async (limit) => {
    // What the channels show (the log's lines) is shown once the cards are committed, not before.
    const shown: (() => void)[] = [];
    const channels = deps.channels.map((channel): ChatChannel => {
      if (channel.local !== true) return channel;
      const deferred: LocalChannel = {
        ...channel,
        shown: (alert, target, kind) => {
          shown.push(() => channel.shown(alert, target, kind));
        },
      };
      return deferred;
    });
    const delivered = await deps.handle.db.transaction().execute(async (trx) => {
      const claimed = await claimDueNotifyRows(trx, limit);
      if (claimed.length === 0) return 0;
      const rows = claimed.map((row) => {
        const parsed = notifyPayload.safeParse(row.payload);
        if (!parsed.success) throw new Error(`notify row ${row.id} has a payload that does not parse`);
        return { outboxId: row.id, alertId: parsed.data.alertId };
      });
      const outcomes = await deliverAlerts(
        { ...deps, channels, handle: { ...deps.handle, db: trx }, renders },
        rows,
        new Map(claimed.map((row) => [row.id, row.row])),
      );
      for (const [id, outcome] of outcomes) {
        if (outcome.kind === 'failed') throw new Error(`notify row ${id} failed`, { cause: outcome.error });
        if (outcome.kind === 'wait') throw new Error(`notify row ${id} must wait ${outcome.ms} ms`);
      }
      return claimed.length;
    });
    for (const show of shown) show();
    return delivered;
  };
}
