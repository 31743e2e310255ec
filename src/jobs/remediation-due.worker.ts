import { z } from 'zod';
import { type Clock, exceptionExpired, markOverdue, systemActor } from '../domain/index.js';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import { changeRemediation, getRemediation, queueNotice } from '../storage/remediation.repository.js';

export const remediationDuePayload = z.object({
  remediationId: z.uuid(),
  kind: z.enum(['reminder', 'overdue', 'exception_expiry']),
});

export interface RemediationDueDeps {
  readonly handle: DbHandle;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * A remediation's clock went off. Each kind re-checks the state now (the row was written when the
 * remediation was created or excepted, and much may have happened since): a reminder only for
 * unfinished work, overdue only past the due date, an expiry only for the exception still in force.
 * A check that finds nothing to do ends quietly; a renewed exception has its own expiry row.
 */
export async function remediationDue(
  deps: RemediationDueDeps,
  payload: z.output<typeof remediationDuePayload>,
): Promise<void> {
  const { handle, clock, logger } = deps;
  const { remediationId, kind } = payload;
  if (kind === 'reminder') {
    const remediation = await getRemediation(handle.db, remediationId);
    if (remediation === null || !['open', 'in_progress'].includes(remediation.status)) return;
    await queueNotice(
      handle,
      remediationId,
      'reminder',
      `Remediation R-${remediation.number} is due ${remediation.dueAt.toISOString()} and is not completed yet.`,
    );
    return;
  }
  const result = await changeRemediation(handle, remediationId, clock, systemActor, (current, now) =>
    kind === 'overdue' ? markOverdue(current, now) : exceptionExpired(current, now),
  );
  if (!result.ok)
    logger.debug({ remediationId, kind, code: result.error.code }, 'remediation clock: nothing to do');
}
