import { randomUUID } from 'node:crypto';
import type { CardAlert, ChatChannel } from '../domain/index.js';
import type { Logger } from '../logger.js';

/**
 * The chat channel of an install with no chat platform configured: it records what it would
 * post (a card row with platform `log`, and a log line) so the pipeline can be seen working.
 */
export function logChannel(logger: Logger): ChatChannel {
  const summary = (alert: CardAlert) => ({
    alertId: alert.id,
    number: alert.number,
    status: alert.status,
    severity: alert.severity,
    title: alert.title,
    occurrences: alert.occurrenceCount,
  });
  return {
    platform: 'log',
    targetsFor: async () => ['log'],
    pace: async () => {},
    // Nothing leaves the process, so there is no call to record before it (no duplicate card to
    // fear after a crash: at worst a second log line); that saves a write per alert.
    post: async (alert) => {
      logger.info({ card: summary(alert) }, 'would post alert card');
      return { messageRef: `log-${randomUUID()}`, found: false };
    },
    update: async (alert) => {
      logger.info({ card: summary(alert) }, 'would update alert card');
    },
  };
}
