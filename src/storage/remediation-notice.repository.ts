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
    /** Where a notice with buttons was posted, and its sentence: to take the buttons away later. */
    readonly posted?: { readonly messageRef: string; readonly message: string } | undefined;
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
      message_ref: delivery.posted?.messageRef ?? null,
      message: delivery.posted?.message ?? null,
    })
    .onConflict((oc) => oc.columns(['outbox_id', 'platform', 'destination']).doNothing())
    .execute();
}

/** A notice posted on `platform` with buttons, that a completed remediation takes away. */
export interface PostedNotice {
  readonly messageRef: string;
  readonly kind: string;
  readonly message: string;
}

/** The notices of a remediation posted on `platform` with buttons, oldest first. */
export async function noticesWithButtons(
  db: Db,
  remediationId: string,
  platform: string,
): Promise<PostedNotice[]> {
  const rows = await db
    .selectFrom('remediation_notice_deliveries')
    .select(['message_ref', 'kind', 'message'])
    .where('remediation_id', '=', remediationId)
    .where('platform', '=', platform)
    .where('message_ref', 'is not', null)
    .where('error', 'is', null)
    .orderBy('delivered_at')
    .execute();
  return rows.map((row) => ({
    messageRef: row.message_ref as string,
    kind: row.kind,
    message: row.message ?? '',
  }));
}
