import {
  type ActingPerson,
  type ExceptionRequest,
  fileException,
  markCompleted,
  type Result,
} from '../../domain/index.js';
import {
  changeRemediation,
  createRemediation,
  type NewRemediation,
  type StoredRemediation,
} from '../../storage/remediation.repository.js';
import { type CommandDeps, permit } from './command.js';

type Changed = Result<{ readonly changed: boolean; readonly remediation: StoredRemediation }>;

/** The request as a surface parsed it; the requester is the person asking. */
export type FileRemediation = Omit<NewRemediation, 'request'> & {
  readonly request: Omit<NewRemediation['request'], 'requester'>;
};

/** Asks IT to fix devices (a ticket follows): responders and up; the person asking is the requester. */
export async function fileRemediation(
  deps: CommandDeps,
  person: ActingPerson,
  command: FileRemediation,
): Promise<Result<{ readonly created: boolean; readonly remediation: StoredRemediation }>> {
  const allowed = await permit(deps, person, 'remediation.request', {
    alertId: null,
    action: 'remediation.request_refused',
  });
  if (!allowed.ok) return allowed;
  const filed = await createRemediation(deps.handle, deps.clock, {
    ...command,
    request: { ...command.request, requester: person.actor },
  });
  return { ok: true, value: filed };
}

/** Mark as completed: responders and up. */
export async function completeRemediation(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly remediationId: string; readonly comment?: string | undefined },
): Promise<Changed> {
  const allowed = await permit(deps, person, 'remediation.request', {
    alertId: null,
    action: 'remediation.complete_refused',
    details: { remediationId: command.remediationId },
  });
  if (!allowed.ok) return allowed;
  return changeRemediation(deps.handle, command.remediationId, deps.clock, person.actor, (current, now) =>
    markCompleted(current, person.actor, now, command.comment),
  );
}

/** File an exception (false positive, compensating control, ...): approvers and up. */
export async function exceptRemediation(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly remediationId: string; readonly exception: ExceptionRequest },
): Promise<Changed> {
  const allowed = await permit(deps, person, 'remediation.except', {
    alertId: null,
    action: 'remediation.exception_refused',
    details: { remediationId: command.remediationId },
  });
  if (!allowed.ok) return allowed;
  return changeRemediation(deps.handle, command.remediationId, deps.clock, person.actor, (current, now) =>
    fileException(current, command.exception, person.actor, now),
  );
}
