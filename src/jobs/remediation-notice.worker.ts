import { z } from 'zod';
import { type Clock, REMEDIATION_NOTICE_KINDS, type RemediationNotifier } from '../domain/index.js';
import type { TicketGateway } from '../integrations/ticketing/index.js';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import { getRemediation, recordNoticeSent } from '../storage/remediation.repository.js';

export const remediationNoticePayload = z.object({
  remediationId: z.uuid(),
  kind: z.enum(REMEDIATION_NOTICE_KINDS),
  message: z.string().max(2_000),
});

/** Notices written on the ticket too, so the IT owner sees what happened in Vigil. */
const COMMENTED = new Set(['overdue', 'exception_filed', 'exception_expired', 'completed']);

/** The notifier of an install without chat adapters: a log line per notice. */
export function logRemediationNotifier(logger: Logger): RemediationNotifier {
  return {
    platform: 'log',
    notify: async (notice) => {
      logger.info(
        {
          remediationId: notice.remediation.id,
          number: notice.remediation.number,
          kind: notice.kind,
          alertId: notice.alertId,
        },
        notice.message,
      );
    },
  };
}

export interface RemediationNoticeDeps {
  readonly handle: DbHandle;
  readonly clock: Clock;
  readonly notifiers: readonly RemediationNotifier[];
  readonly gateway: TicketGateway;
}

/**
 * Tells the requester and the routed channel, through every notifier, then audits it. A notice
 * that Vigil itself caused (not one the ticketing system reported) is also written on the ticket.
 */
export async function deliverRemediationNotice(
  deps: RemediationNoticeDeps,
  payload: z.output<typeof remediationNoticePayload>,
): Promise<void> {
  const { handle, notifiers, gateway } = deps;
  const remediation = await getRemediation(handle.db, payload.remediationId);
  if (remediation === null) return;
  const notice = {
    kind: payload.kind,
    remediation,
    requester: remediation.requester,
    alertId: remediation.alertId,
    message: payload.message,
  };
  for (const notifier of notifiers) await notifier.notify(notice);
  const fromTicketing =
    remediation.completedBy?.kind === 'source' && remediation.completedBy.source.startsWith('ticketing:');
  if (
    COMMENTED.has(payload.kind) &&
    gateway.addComment !== undefined &&
    remediation.externalId !== null &&
    remediation.connector === gateway.connector &&
    !(payload.kind === 'completed' && fromTicketing)
  ) {
    await gateway.addComment(remediation.externalId, `Vigil: ${payload.message}`);
  }
  await recordNoticeSent(
    handle.db,
    remediation,
    payload.kind,
    notifiers.map((notifier) => notifier.platform),
    deps.clock.now(),
  );
}
