/**
 * Work that must happen after a state change commits, written in the same transaction and
 * relayed to a job queue. Each topic is a queue; the payload is what its worker needs to find
 * the current state in Postgres (never a copy of that state, which would go stale).
 */
export type OutboxMessage = NotifyMessage;

/** Bring every card of an alert up to date. */
export interface NotifyMessage {
  readonly topic: 'notify';
  readonly payload: { readonly alertId: string; readonly reason: NotifyReason };
  /** Not before this time: delayed work (reminders, escalation steps) waits in Postgres, surviving restarts. */
  readonly availableAt?: Date;
}

export type NotifyReason = 'created' | 'occurred' | 'status_changed' | 'assigned';

export type OutboxTopic = OutboxMessage['topic'];

export const notify = (alertId: string, reason: NotifyReason): OutboxMessage => ({
  topic: 'notify',
  payload: { alertId, reason },
});
