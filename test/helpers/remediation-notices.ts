import { eventually, type TestVigil } from './harness.js';

/**
 * Waits until a remediation's completed notice is done: its job records the trail last, so by then
 * every earlier notice was retired (its buttons taken away) on every platform.
 */
export const completedNoticeDone = (vigil: TestVigil, remediationId: string) =>
  eventually(
    async () =>
      (await vigil.handle.db
        .selectFrom('remediation_notice_deliveries')
        .select('outbox_id')
        .where('remediation_id', '=', remediationId)
        .where('kind', '=', 'completed')
        .where('platform', '=', 'vigil')
        .executeTakeFirst()) ?? undefined,
    15_000,
    'the completed notice done',
  );

/** The retirements recorded for a remediation's notices: where each went, and the error if refused. */
export const retiredNotices = (vigil: TestVigil, remediationId: string) =>
  vigil.handle.db
    .selectFrom('remediation_notice_deliveries')
    .select(['destination', 'error'])
    .where('remediation_id', '=', remediationId)
    .where('destination', 'like', 'retired:%')
    .execute();
