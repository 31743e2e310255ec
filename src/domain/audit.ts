import type { Actor } from './actor.js';

/**
 * One line of the append-only audit trail: who did what to which alert, and when. Refusals are
 * written too, so the trail shows attempts as well as changes.
 */
export interface AuditEntry {
  readonly alertId: string | null;
  readonly actor: Actor;
  /** A stable dotted name: `alert.created`, `alert.status_changed`, `alert.action_refused`... */
  readonly action: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly at: Date;
}
