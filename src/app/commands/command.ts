import { AlertErrorCode } from '../../domain/alert/alert.errors.js';
import {
  type ActingPerson,
  authorize,
  type Clock,
  fail,
  type Permission,
  type Result,
} from '../../domain/index.js';
import { appendAudit } from '../../storage/audit.repository.js';
import type { Db, DbHandle } from '../../storage/db.js';

/** What every command needs: storage and the clock. */
export interface CommandDeps {
  readonly handle: DbHandle;
  readonly clock: Clock;
}

/**
 * The permission check every command starts with. A refusal changes nothing, is audited (on the
 * alert when there is one) and comes back as `auth.forbidden` with the role needed; a refusal on
 * an alert that does not exist is `alert.not_found` (audit rows name existing alerts). Allowed
 * costs no query.
 */
export async function permit(
  deps: CommandDeps,
  person: ActingPerson,
  permission: Permission,
  refusal: {
    readonly alertId: string | null;
    readonly action: string;
    readonly details?: Record<string, unknown>;
  },
): Promise<Result<true>> {
  const allowed = authorize(person.role, permission);
  if (allowed.ok) return allowed;
  if (refusal.alertId !== null && !(await alertExists(deps, refusal.alertId)))
    return fail(AlertErrorCode.NotFound, `No alert ${refusal.alertId}.`);
  await appendAudit(deps.handle.db, [
    {
      alertId: refusal.alertId,
      actor: person.actor,
      action: refusal.action,
      details: {
        ...refusal.details,
        code: allowed.error.code,
        reason: allowed.error.message,
        role: person.role,
        permission,
      },
      at: deps.clock.now(),
    },
  ]);
  return allowed;
}

async function alertExists(deps: CommandDeps, alertId: string): Promise<boolean> {
  if (!/^[0-9a-f-]{36}$/i.test(alertId)) return false;
  const row = await deps.handle.db
    .selectFrom('alerts')
    .select('id')
    .where('id', '=', alertId)
    .executeTakeFirst();
  return row !== undefined;
}

/** The audit row of a change `person` made (now unless `at`) that concerns no alert: people, tokens, sessions. */
export async function auditPersonChange(
  trx: Db,
  deps: CommandDeps,
  person: ActingPerson,
  action: string,
  details: Record<string, unknown>,
  at: Date = deps.clock.now(),
): Promise<void> {
  await appendAudit(trx, [{ alertId: null, actor: person.actor, action, details, at }]);
}
