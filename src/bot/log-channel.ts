import type { CardAlert, LocalChannel } from '../domain/index.js';
import type { Logger } from '../logger.js';

/**
 * The chat channel of an install with no chat platform configured: it records what it would
 * post (a card row with platform `log`, and a log line) so the pipeline can be seen working.
 */
export function logChannel(logger: Logger): LocalChannel {
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
    local: true,
    targetsFor: async () => ['log'],
    shown: (alert, _target, kind) => {
      logger.info(
        { card: summary(alert) },
        kind === 'post' ? 'would post alert card' : 'would update alert card',
      );
    },
  };
}
