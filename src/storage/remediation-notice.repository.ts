import type { Db } from './db.js';

/** A notice's destinations already done (delivered, or refused for good), as `platform:destination`. */
export async function noticeDestinationsDone(db: Db, outboxId: string): Promise<Set<string>> {
  const rows = await db
    .selectFrom('remediation_notice_deliveries')
    .select(['platform', 'destination'])
    .where('outbox_id', '=', outboxId)
    .execute();
  return new Set(rows.map((row) => `${row.platform}:${row.destination}`));
}

/** Records one destination of a notice as done, right after the call: a retry skips it. */
export async function recordNoticeDestination(
  db: Db,
  delivery: {
    readonly outboxId: string;
    readonly platform: string;
    readonly destination: string;
    readonly remediationId: string;
    readonly kind: string;
    readonly error: string | null;
    readonly at: Date;
  },
): Promise<void> {
  await db
    .insertInto('remediation_notice_deliveries')
    .values({
      outbox_id: delivery.outboxId,
      platform: delivery.platform,
      destination: delivery.destination,
      remediation_id: delivery.remediationId,
      kind: delivery.kind,
      error: delivery.error?.slice(0, 500) ?? null,
      delivered_at: delivery.at,
    })
    .onConflict((oc) => oc.columns(['outbox_id', 'platform', 'destination']).doNothing())
    .execute();
}
