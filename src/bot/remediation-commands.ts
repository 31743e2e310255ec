import type { CommandDeps } from '../app/commands/command.js';
import { completeRemediation, exceptRemediation } from '../app/commands/remediation.js';
import {
  type ActingPerson,
  checkExceptionExpiry,
  EXCEPTION_REASON_LABELS,
  EXCEPTION_REASONS,
  type ExceptionReason,
  fail,
  ok,
  type Result,
} from '../domain/index.js';
import { findRemediationId } from '../storage/remediation.repository.js';
import { CARD_ACTIONS } from './card-actions.js';
import { REMEDIATION_FIELDS } from './card-model/remediation-notice.js';

/**
 * Completing a remediation and filing an exception from chat, the same on Slack (`/vigil
 * remediation ...`) and Teams (`remediation ...`): one parser, one runner, the same answers.
 */
export type RemediationCommand =
  | { readonly type: 'remediation.complete'; readonly ref: string; readonly comment?: string }
  | {
      readonly type: 'remediation.exception';
      readonly ref: string;
      readonly reason: ExceptionReason;
      readonly expiresAt: Date;
      readonly justification: string;
    };

export const REMEDIATION_COMMAND_USAGE =
  '`remediation complete <R-7> [how it was done]` or `remediation exception <R-7> <reason> <YYYY-MM-DD> <justification>` (responders; reasons: ' +
  `${EXCEPTION_REASONS.join(', ')}; the exception ends at the end of that day, UTC)`;

const invalid = (why: string): Result<never> =>
  fail('command.invalid', `${why} Usage: ${REMEDIATION_COMMAND_USAGE}`);

/** Parses the text after `remediation`, keeping the comment and justification as typed. */
export function parseRemediationCommand(text: string): Result<RemediationCommand> {
  const words = text
    .trim()
    .split(/\s+/)
    .filter((word) => word !== '');
  const [sub, ref] = words;
  // What follows the first `n` words, spacing kept.
  const after = (n: number) =>
    text
      .trim()
      .replace(new RegExp(`^(\\S+\\s+){${n}}`), '')
      .trim();
  if (ref === undefined) return invalid('Say complete or exception, and the remediation.');
  switch (sub?.toLowerCase()) {
    case 'complete': {
      const comment = words.length > 2 ? after(2) : '';
      return ok({ type: 'remediation.complete', ref, ...(comment === '' ? {} : { comment }) });
    }
    case 'exception': {
      const [, , word, day] = words;
      const exception = exceptionCommand(ref, word, day, words.length > 4 ? after(4) : '');
      return exception.ok ? exception : invalid(exception.error.message);
    }
    default:
      return invalid(`I do not understand "${sub}".`);
  }
}

/** An exception as typed or picked in a form: a known reason, a day (its end, UTC) and a justification. */
function exceptionCommand(
  ref: string,
  word: string | undefined,
  day: string | undefined,
  justification: string,
): Result<RemediationCommand> {
  const reason = word?.toLowerCase().replaceAll('-', '_');
  if (reason === undefined || !(EXCEPTION_REASONS as readonly string[]).includes(reason))
    return fail('command.invalid', `"${word ?? ''}" is not an exception reason.`);
  const expiresAt = /^\d{4}-\d{2}-\d{2}$/.test(day ?? '') ? new Date(`${day}T23:59:59.999Z`) : null;
  if (expiresAt === null || Number.isNaN(expiresAt.getTime()))
    return fail('command.invalid', `"${day ?? ''}" is not a date (YYYY-MM-DD).`);
  if (justification === '') return fail('command.invalid', 'Give the justification.');
  return ok({
    type: 'remediation.exception',
    ref,
    reason: reason as ExceptionReason,
    expiresAt,
    justification,
  });
}

/**
 * The command a remediation notice's form sends (Complete, File exception; see
 * card-model/remediation-notice.ts): the same commands as typed, so the same checks and answers.
 */
export function remediationFormCommand(
  action: typeof CARD_ACTIONS.completeRemediation | typeof CARD_ACTIONS.fileException,
  remediationId: string,
  values: Readonly<Record<string, string | null | undefined>>,
): Result<RemediationCommand> {
  const value = (id: string) => values[id]?.trim() ?? '';
  if (action === CARD_ACTIONS.completeRemediation) {
    const comment = value(REMEDIATION_FIELDS.comment);
    return ok({ type: 'remediation.complete', ref: remediationId, ...(comment === '' ? {} : { comment }) });
  }
  return exceptionCommand(
    remediationId,
    value(REMEDIATION_FIELDS.reason),
    value(REMEDIATION_FIELDS.expires),
    value(REMEDIATION_FIELDS.justification),
  );
}

/**
 * Runs a parsed command as the person (src/app/commands/remediation.ts checks the role and audits
 * a refusal). Answers the sentence to show the person (plain text, no markup).
 */
export async function runRemediationCommand(
  deps: CommandDeps,
  person: ActingPerson,
  command: RemediationCommand,
): Promise<Result<string>> {
  const remediationId = await findRemediationId(deps.handle.db, command.ref);
  if (remediationId === null) return fail('remediation.not_found', `No remediation ${command.ref}.`);
  if (command.type === 'remediation.exception') {
    const expiry = checkExceptionExpiry(command.expiresAt, deps.clock);
    if (!expiry.ok) return expiry;
  }
  const result =
    command.type === 'remediation.complete'
      ? await completeRemediation(deps, person, { remediationId, comment: command.comment })
      : await exceptRemediation(deps, person, {
          remediationId,
          exception: {
            reason: command.reason,
            justification: command.justification,
            expiresAt: command.expiresAt,
          },
        });
  if (!result.ok) return result;
  const { remediation, changed } = result.value;
  const name = `Remediation R-${remediation.number}`;
  if (command.type === 'remediation.complete')
    return ok(changed ? `${name} is marked completed.` : `${name} was already completed.`);
  return ok(
    `${name}: exception filed (${EXCEPTION_REASON_LABELS[command.reason]}) until ${command.expiresAt.toISOString().slice(0, 10)}.`,
  );
}
