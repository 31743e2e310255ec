import { identify } from '../app/identity.js';
import { type Actor, authorize, type Clock, type DomainError } from '../domain/index.js';
import { appendAudit } from '../storage/audit.repository.js';
import type { Db } from '../storage/db.js';
import type { RolePolicy } from '../storage/person.repository.js';

/**
 * May this person export every remediation (from Slack or Teams)? Approvers and admins may; a
 * refusal is audited with where it was asked, since an export carries every device and note.
 * Returns null when allowed, else the refusal to tell them.
 */
export async function exportRefusal(
  db: Db,
  actor: Extract<Actor, { kind: 'user' }>,
  roles: RolePolicy,
  clock: Clock,
  where: Readonly<Record<string, unknown>>,
): Promise<DomainError | null> {
  const person = await identify(db, actor, roles);
  if (!person.ok) return person.error;
  const role = person.value.role;
  const allowed = authorize(role, 'remediation.export');
  if (allowed.ok) return null;
  await appendAudit(db, [
    {
      alertId: null,
      actor: person.value.actor,
      action: 'remediation.export_refused',
      details: { ...where, role, needed: allowed.error.details?.needed ?? null },
      at: clock.now(),
    },
  ]);
  return allowed.error;
}
