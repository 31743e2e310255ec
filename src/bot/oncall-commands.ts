import { addSilence, expireSilence } from '../app/commands/silences.js';
import {
  type ActingPerson,
  type Clock,
  fail,
  LABEL_OPS,
  type LabelMatcher,
  type LabelOp,
  type OnCallPerson,
  ok,
  type Result,
} from '../domain/index.js';
import type { DbHandle } from '../storage/db.js';
import { whoIsOnCall } from '../storage/oncall.repository.js';
import { listSilences } from '../storage/silence.repository.js';

/** `/vigil silence ...` and `/vigil oncall`, parsed. */
export type OnCallCommand =
  | {
      readonly type: 'silence.add';
      readonly durationMs: number;
      readonly labels: readonly LabelMatcher[];
      readonly comment: string;
    }
  | { readonly type: 'silence.list' }
  | { readonly type: 'silence.expire'; readonly id: string }
  | { readonly type: 'oncall' };

export const SILENCE_USAGE =
  '`/vigil silence add <30m|2h|1d> <label=value | label=~regex | label!=value>... <comment>`, `/vigil silence list`, `/vigil silence expire <id>`';
export const ONCALL_USAGE = '`/vigil oncall`';

const UNITS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
// Longest operators first, so `=~` is not read as `=` followed by `~`.
const OPS = [...LABEL_OPS].sort((a, b) => b.length - a.length);

function parseMatcher(token: string): LabelMatcher | null {
  const name = /^[A-Za-z_][A-Za-z0-9_.-]{0,99}/.exec(token)?.[0];
  if (name === undefined) return null;
  const rest = token.slice(name.length);
  const op = OPS.find((candidate) => rest.startsWith(candidate)) as LabelOp | undefined;
  if (op === undefined) return null;
  return { name, op, value: rest.slice(op.length) };
}

const usage = (problem: string) => fail('command.invalid', `${problem} Usage: ${SILENCE_USAGE}`);

/** Parses the words after `/vigil silence`; every refusal says how to write it. */
export function parseSilenceCommand(args: readonly string[]): Result<OnCallCommand> {
  const [sub, ...rest] = args;
  if (sub === 'list' && rest.length === 0) return ok({ type: 'silence.list' });
  if (sub === 'expire' && rest.length === 1 && /^[0-9a-f-]{36}$/i.test(rest[0] ?? '')) {
    return ok({ type: 'silence.expire', id: (rest[0] as string).toLowerCase() });
  }
  if (sub !== 'add') return usage('Say add, list or expire <id>.');
  const [duration, ...words] = rest;
  const match = /^(\d{1,4})([mhd])$/.exec(duration ?? '');
  if (match?.[1] === undefined || match[2] === undefined)
    return usage('Give a duration such as 30m, 2h or 1d.');
  const durationMs = Number(match[1]) * (UNITS[match[2]] as number);
  if (durationMs <= 0 || durationMs > 30 * 86_400_000)
    return usage('A silence lasts from 1 minute to 30 days.');
  const labels: LabelMatcher[] = [];
  let index = 0;
  for (; index < words.length; index += 1) {
    const matcher = parseMatcher(words[index] as string);
    if (matcher === null) break;
    labels.push(matcher);
  }
  const comment = words.slice(index).join(' ').trim();
  if (labels.length === 0) return usage('Give at least one label matcher, such as env=lab.');
  if (comment === '') return usage('Say why, after the matchers.');
  return ok({ type: 'silence.add', durationMs, labels, comment });
}

/** How a platform writes what these commands answer (Slack mrkdwn, Teams markdown). */
export interface ChatFormat {
  readonly person: (person: OnCallPerson) => string;
  readonly when: (date: Date) => string;
  readonly text: (value: string) => string;
  readonly refused: (message: string) => string;
  readonly forbidden: (message: string) => string;
  /** A command as the person would type it here (`/vigil token list` on Slack, `token list` on Teams). */
  readonly command: (words: string) => string;
}

/** Runs a parsed silence or on-call command; silences need the responder role. */
export async function runOnCallCommand(
  deps: { readonly handle: DbHandle; readonly clock: Clock },
  person: ActingPerson,
  command: OnCallCommand,
  format: ChatFormat,
): Promise<string> {
  const { handle, clock } = deps;
  const now = clock.now();
  if (command.type === 'oncall') {
    const schedules = await whoIsOnCall(handle.db, now);
    if (schedules.length === 0) return 'No on-call schedules yet (`vigil policies apply` adds them).';
    return schedules
      .map(({ schedule, now: current, next }) => {
        const people = current.people.length === 0 ? 'nobody' : current.people.map(format.person).join(', ');
        const after =
          next === null || current.until === null
            ? ''
            : `; from ${format.when(current.until)}: ${next.people.map(format.person).join(', ') || 'nobody'}`;
        return `*${format.text(schedule.name)}*: ${people}${after}`;
      })
      .join('\n');
  }
  if (command.type === 'silence.list') {
    const silences = await listSilences(handle.db, now);
    if (silences.length === 0) return 'No active silences.';
    return silences
      .map(
        (s) =>
          `• \`${s.id}\` ${s.labels.map((l) => format.text(`${l.name}${l.op}${l.value}`)).join(' ')} until ${format.when(s.endsAt)}, ${s.mutedCount} muted: ${format.text(s.comment)}`,
      )
      .join('\n');
  }
  if (command.type === 'silence.expire') {
    const expired = await expireSilence(deps, person, { silenceId: command.id });
    if (expired.ok) return `Silence \`${command.id}\` expired.`;
    return expired.error.code === 'auth.forbidden'
      ? format.forbidden(expired.error.message)
      : format.refused(`No active silence ${command.id}.`);
  }
  const created = await addSilence(deps, person, {
    labels: command.labels,
    entities: [],
    startsAt: now,
    endsAt: new Date(now.getTime() + command.durationMs),
    comment: command.comment,
  });
  if (!created.ok && created.error.code === 'auth.forbidden') return format.forbidden(created.error.message);
  // The refusal quotes the pattern as typed: escaped, so `<!channel>` in it pings nobody.
  if (!created.ok) return format.refused(format.text(created.error.message));
  return `Silence \`${created.value.id}\` mutes matching alerts until ${format.when(created.value.endsAt)}.`;
}
