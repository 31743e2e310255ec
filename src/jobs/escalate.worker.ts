import { z } from 'zod';
import { type Clock, type DirectMessenger, pageText } from '../domain/index.js';
import type { Logger } from '../logger.js';
import { getAlert } from '../storage/alert.repository.js';
import type { DbHandle } from '../storage/db.js';
import { beginStep, finishStep, recordDelivered } from '../storage/oncall.repository.js';

export const escalatePayload = z.object({
  pageId: z.uuid(),
  stepNo: z.number().int().min(0),
  dueAt: z.iso.datetime({ offset: true }),
});

export interface EscalateDeps {
  readonly handle: DbHandle;
  readonly clock: Clock;
  readonly logger: Logger;
  /** One per chat platform that can reach people directly (Slack DM, Teams personal chat). */
  readonly messengers: readonly DirectMessenger[];
  /** Base of links in the message (VIGIL_PUBLIC_URL); none when unset. */
  readonly publicUrl?: string | undefined;
  /** Told when a direct message went out (benchmarks measure due-to-message time with it). */
  readonly onDelivered?: (event: { pageId: string; stepNo: number; key: string; dueAt: Date }) => void;
}

/**
 * Runs one escalation step at its due time. The step's row and the next step's outbox row are
 * written first, in one transaction (beginStep), so a crash after it loses nothing and a re-run
 * repeats nothing: the re-run finds the row and only sends the messages not yet recorded as
 * delivered. A message that went out just before a crash, before its record, may go out twice;
 * a missed page is worse than a duplicate one.
 */
export async function runEscalationStep(
  deps: EscalateDeps,
  payload: z.output<typeof escalatePayload>,
): Promise<void> {
  const { handle, clock, logger, messengers } = deps;
  const step = await beginStep(handle, payload.pageId, payload.stepNo, clock.now(), new Date(payload.dueAt));
  if (step.kind === 'stopped') {
    logger.debug(
      { pageId: payload.pageId, stepNo: payload.stepNo, reason: step.reason },
      'page step not taken',
    );
    return;
  }
  const alert = await getAlert(handle.db, step.alertId);
  if (alert === null) return;
  const link = deps.publicUrl === undefined ? null : `${deps.publicUrl}/api/alerts/${alert.id}`;
  const text = pageText(alert, { levelIndex: step.levelIndex, policy: step.escalationName }, link);
  const delivered = new Set(step.delivered);
  for (const recipient of step.recipients) {
    for (const key of recipient.keys) {
      if (delivered.has(key)) continue;
      const platform = key.slice(0, key.indexOf(':'));
      const messenger = messengers.find((m) => m.platform === platform);
      if (messenger === undefined) continue;
      const identity = platform === 'slack' ? { slack: key.slice(6) } : { teams: key.slice(6) };
      const outcome = await messenger.send({ name: recipient.person.name, ...identity }, text);
      if (outcome === 'no_identity') {
        logger.warn(
          { pageId: step.pageId, recipient: key },
          'cannot reach this person directly on this platform',
        );
        continue;
      }
      await recordDelivered(handle, step, key, recipient.person.name, clock.now());
      deps.onDelivered?.({ pageId: step.pageId, stepNo: step.stepNo, key, dueAt: new Date(payload.dueAt) });
    }
  }
  await finishStep(handle.db, step.pageId, step.stepNo, clock.now());
}
