import {
  type ActingPerson,
  type EscalationPolicySpec,
  fail,
  ok,
  type Result,
  type Schedule,
  type ScheduleOverride,
} from '../../domain/index.js';
import { addOverride, putNamed } from '../../storage/oncall.repository.js';
import { type CommandDeps, permit } from './command.js';

type Definition =
  | { readonly kind: 'schedule'; readonly name: string; readonly spec: Schedule | null }
  | { readonly kind: 'escalation_policy'; readonly name: string; readonly spec: EscalationPolicySpec | null };

const TABLE = { schedule: 'schedules', escalation_policy: 'escalation_policies' } as const;
const LABEL = { schedule: 'Schedule', escalation_policy: 'Escalation policy' } as const;

/**
 * Creates (`create`), replaces (`replace`) or deletes (spec null) a schedule or escalation policy
 * by name: admins only, a refusal audited. Creating one that exists is `<kind>.exists`; replacing
 * or deleting one that does not, `<kind>.not_found`.
 */
export async function saveOnCallDefinition(
  deps: CommandDeps,
  person: ActingPerson,
  command: Definition & { readonly mode: 'create' | 'replace' | 'delete' },
): Promise<Result<{ readonly id: string; readonly version: number }>> {
  const allowed = await permit(deps, person, 'admin.manage', {
    alertId: null,
    action: `${command.kind}.refused`,
    details: { name: command.name, mode: command.mode },
  });
  if (!allowed.ok) return allowed;
  return deps.handle.db.transaction().execute(async (trx) => {
    const exists =
      (await trx
        .selectFrom(TABLE[command.kind])
        .select('id')
        .where('name', '=', command.name)
        .forUpdate()
        .executeTakeFirst()) !== undefined;
    if (command.mode === 'create' && exists)
      return fail(`${command.kind}.exists`, `${LABEL[command.kind]} "${command.name}" exists.`);
    if (command.mode !== 'create' && !exists)
      return fail(`${command.kind}.not_found`, `No ${LABEL[command.kind].toLowerCase()} "${command.name}".`);
    const saved = await putNamed(
      trx,
      command.kind,
      command.name,
      command.mode === 'delete' ? null : command.spec,
      person.actor,
      deps.clock.now(),
    );
    return saved === null ? fail(`${command.kind}.not_found`, `No such ${command.kind}.`) : ok(saved);
  });
}

/** Puts someone else on call for a while (an override): admins only. */
export async function addScheduleOverride(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly scheduleName: string; readonly override: ScheduleOverride },
): Promise<Result<string>> {
  const allowed = await permit(deps, person, 'admin.manage', {
    alertId: null,
    action: 'schedule.refused',
    details: { name: command.scheduleName, mode: 'override' },
  });
  if (!allowed.ok) return allowed;
  const id = await addOverride(
    deps.handle,
    command.scheduleName,
    command.override,
    person.actor,
    deps.clock.now(),
  );
  return id === null ? fail('schedule.not_found', `No schedule "${command.scheduleName}".`) : ok(id);
}
