import { type ActingPerson, fail, type Result, type Silence } from '../../domain/index.js';
import {
  createSilence,
  expireSilence as expire,
  moveSilenceEnd,
  type StoredSilence,
} from '../../storage/silence.repository.js';
import { type CommandDeps, permit } from './command.js';

const notFound = (id: string) => fail('silence.not_found', `No active silence ${id}.`);

/** Changing an existing silence is for responders and up; a refusal is audited with its ID. */
const permitOnSilence = (deps: CommandDeps, person: ActingPerson, silenceId: string) =>
  permit(deps, person, 'silence.manage', {
    alertId: null,
    action: 'silence.refused',
    details: { silenceId },
  });

/** Mutes matching alerts until a time: responders and up; an invalid pattern is refused and audited. */
export async function addSilence(
  deps: CommandDeps,
  person: ActingPerson,
  command: Omit<Silence, 'id' | 'createdBy'>,
): Promise<Result<StoredSilence>> {
  const allowed = await permit(deps, person, 'silence.manage', { alertId: null, action: 'silence.refused' });
  if (!allowed.ok) return allowed;
  return createSilence(deps.handle.db, { ...command, createdBy: person.actor }, deps.clock.now());
}

/** Ends a silence now: responders and up. */
export async function expireSilence(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly silenceId: string },
): Promise<Result<true>> {
  const allowed = await permitOnSilence(deps, person, command.silenceId);
  if (!allowed.ok) return allowed;
  const done = await expire(deps.handle.db, command.silenceId, person.actor, deps.clock.now());
  return done ? { ok: true, value: true } : notFound(command.silenceId);
}

/** Moves a silence's end (extend or shorten): responders and up. */
export async function moveSilence(
  deps: CommandDeps,
  person: ActingPerson,
  command: { readonly silenceId: string; readonly endsAt: Date },
): Promise<Result<true>> {
  const allowed = await permitOnSilence(deps, person, command.silenceId);
  if (!allowed.ok) return allowed;
  const moved = await moveSilenceEnd(
    deps.handle.db,
    command.silenceId,
    command.endsAt,
    person.actor,
    deps.clock.now(),
  );
  return moved
    ? { ok: true, value: true }
    : fail('silence.not_found', 'No such silence, or the end is before its start.');
}
