import { z } from 'zod';
import {
  type Clock,
  PermanentChatError,
  REMEDIATION_NOTICE_KINDS,
  type RemediationNoticeKind,
  type RemediationNotifier,
} from '../domain/index.js';
import type { TicketGateway } from '../integrations/ticketing/index.js';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import { getRemediation, recordNoticeSent } from '../storage/remediation.repository.js';
import {
  noticeDestinationsDone,
  noticesWithButtons,
  recordNoticeDestination,
} from '../storage/remediation-notice.repository.js';

export const remediationNoticePayload = z.object({
  remediationId: z.uuid(),
  kind: z.enum(REMEDIATION_NOTICE_KINDS),
  message: z.string().max(2_000),
});

/** The destination recording that an earlier notice, posted at the reference that follows, lost its buttons. */
const RETIRED = 'retired:';

/** Notices written on the ticket too, so the IT owner sees what happened in Vigil. */
const COMMENTED = new Set(['overdue', 'exception_filed', 'exception_expired', 'completed']);

/** The notifier of an install without chat adapters: a log line per notice. */
export function logRemediationNotifier(logger: Logger): RemediationNotifier {
  return {
    platform: 'log',
    destinations: async () => ['log'],
    deliver: async (notice) => {
      logger.info(
        {
          remediationId: notice.remediation.id,
          number: notice.remediation.number,
          kind: notice.kind,
          alertId: notice.alertId,
        },
        notice.message,
      );
      return undefined;
    },
  };
}

export interface RemediationNoticeDeps {
  readonly handle: DbHandle;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly notifiers: readonly RemediationNotifier[];
  readonly gateway: TicketGateway;
}

/**
 * Tells the requester and the alert's channel on every platform, then writes it on the ticket
 * and audits it. Each destination (a platform's DM, a card's thread, the ticket, the trail) is
 * recorded in Postgres as soon as it is done, so a retry after a failure anywhere sends nothing
 * twice; a destination refusing for good is recorded with its error and not tried again. The
 * first other failure is thrown after every destination was tried, so the job comes back (a
 * ChatRateLimitedError when the platform's pace says wait). A completed remediation's notice also
 * shows its earlier notices again without their buttons, where the platform can (each recorded the
 * same way), here in the job: never inside the transaction that completed it.
 */
export async function deliverRemediationNotice(
  deps: RemediationNoticeDeps,
  payload: z.output<typeof remediationNoticePayload>,
  outboxId: string,
): Promise<void> {
  const { handle, notifiers, gateway, logger } = deps;
  const remediation = await getRemediation(handle.db, payload.remediationId);
  if (remediation === null) return;
  const notice = {
    kind: payload.kind,
    remediation,
    requester: remediation.requester,
    alertId: remediation.alertId,
    message: payload.message,
  };
  const done = await noticeDestinationsDone(handle.db, outboxId);
  const record = (
    platform: string,
    destination: string,
    error: string | null,
    posted?: { readonly messageRef: string; readonly message: string },
  ) =>
    recordNoticeDestination(handle.db, {
      outboxId,
      platform,
      destination,
      remediationId: remediation.id,
      kind: payload.kind,
      error,
      at: deps.clock.now(),
      posted,
    });
  let failure: unknown = null;
  const reached: string[] = [];
  /**
   * One destination once: recorded when done (true) or refused for good; another failure is kept
   * for the end.
   */
  const attempt = async (
    platform: string,
    destination: string,
    send: () => Promise<string | undefined>,
  ): Promise<boolean> => {
    if (done.has(`${platform}:${destination}`)) return false;
    try {
      const messageRef = await send();
      await record(
        platform,
        destination,
        null,
        messageRef === undefined ? undefined : { messageRef, message: payload.message },
      );
      return true;
    } catch (error) {
      if (!(error instanceof PermanentChatError)) {
        failure ??= error;
        return false;
      }
      logger.warn(
        { remediationId: remediation.id, platform, destination, error: error.message },
        'a remediation notice was refused for good at one destination; not tried again',
      );
      await record(platform, destination, error.message);
      return false;
    }
  };
  for (const notifier of notifiers) {
    let destinations: readonly string[];
    try {
      destinations = await notifier.destinations(notice);
    } catch (error) {
      failure ??= error;
      continue;
    }
    for (const destination of destinations)
      if (await attempt(notifier.platform, destination, () => notifier.deliver(notice, destination)))
        reached.push(notifier.platform);
    // Completed: the earlier notices' Complete and File exception go, each recorded like a destination.
    const { retire } = notifier;
    if (payload.kind !== 'completed' || retire === undefined) continue;
    for (const earlier of await noticesWithButtons(handle.db, remediation.id, notifier.platform)) {
      const shown = { ...notice, kind: earlier.kind as RemediationNoticeKind, message: earlier.message };
      await attempt(notifier.platform, `${RETIRED}${earlier.messageRef}`, async () => {
        await retire(shown, earlier.messageRef);
        return undefined;
      });
    }
  }
  if (failure !== null) throw failure;
  const fromTicketing =
    remediation.completedBy?.kind === 'source' && remediation.completedBy.source.startsWith('ticketing:');
  if (
    !done.has('ticket:comment') &&
    COMMENTED.has(payload.kind) &&
    gateway.addComment !== undefined &&
    remediation.externalId !== null &&
    remediation.connector === gateway.connector &&
    !(payload.kind === 'completed' && fromTicketing)
  ) {
    await gateway.addComment(remediation.externalId, `Vigil: ${payload.message}`);
    await record('ticket', 'comment', null);
  }
  if (done.has('vigil:trail')) return;
  await handle.db.transaction().execute(async (trx) => {
    await recordNoticeSent(trx, remediation, payload.kind, [...new Set(reached)], deps.clock.now());
    await recordNoticeDestination(trx, {
      outboxId,
      platform: 'vigil',
      destination: 'trail',
      remediationId: remediation.id,
      kind: payload.kind,
      error: null,
      at: deps.clock.now(),
    });
  });
}
