import { RE2JS, RE2JSException } from 're2js';
import type { AlertEntity, EntityKind } from '../alert/alert.js';

/** Alertmanager's four label operators: equal, not equal, regex match, regex non-match. */
export const LABEL_OPS = ['=', '!=', '=~', '!~'] as const;
export type LabelOp = (typeof LABEL_OPS)[number];

/** One label condition; regexes are anchored at both ends, as in Alertmanager. */
export interface LabelMatcher {
  readonly name: string;
  readonly op: LabelOp;
  readonly value: string;
}

/**
 * An alert is about an entity of `kind` whose key matches `key`, a glob where `*` stands for any
 * run of characters (`*@contoso.com`); no key matches any entity of that kind. Keys are compared
 * without case, as ingest lower-cases them where case does not matter.
 */
export interface EntityMatcher {
  readonly kind: EntityKind;
  readonly key?: string | undefined;
}

export type LabelTest = (labels: Readonly<Record<string, string>>) => boolean;
export type EntityTest = (entities: readonly AlertEntity[]) => boolean;

/** Longest pattern a person may give; RE2's program grows with it, and nobody needs more. */
export const PATTERN_MAX_LENGTH = 1_000;

const isRegexOp = (op: LabelOp): boolean => op === '=~' || op === '!~';

/**
 * A whole-string test of `pattern` (anchored at both ends, as in Alertmanager), or why RE2
 * cannot run it. Patterns run on the ingest path against text alert senders choose, so they go
 * through RE2 (linear time, whatever the input): JavaScript's own engine backtracks, and
 * `(a|a)+$` against thirty letters froze Vigil for seconds. RE2 has no backreferences and no
 * lookaround; such patterns are refused, not approximated.
 */
function compileWhole(pattern: string, flags = 0): ((text: string) => boolean) | { problem: string } {
  try {
    // The pattern alone first: `a)|(b` is only valid once wrapped, and must not be accepted.
    RE2JS.compile(pattern, flags);
    const regex = RE2JS.compile(`(?:${pattern})`, flags);
    return (text) => regex.testExact(text);
  } catch (error) {
    const reason = error instanceof RE2JSException ? error.message : String(error);
    return { problem: `not an RE2 regular expression (${reason}); RE2 has no backreferences or lookaround` };
  }
}

/** Why a person's pattern is refused (RE2 cannot run it, or it is too long), or null. */
export function regexProblem(pattern: string): string | null {
  if (pattern.length > PATTERN_MAX_LENGTH) return `longer than ${PATTERN_MAX_LENGTH} characters`;
  const compiled = compileWhole(pattern);
  return typeof compiled === 'function' ? null : compiled.problem;
}

/** Every label and entity matcher problem of a silence or policy, with the field it is in. */
export interface MatcherProblem {
  /** The field as people read it: `labels[0].value`. */
  readonly field: string;
  readonly pattern: string;
  readonly reason: string;
}

export function matcherProblems(
  labels: readonly LabelMatcher[],
  entities: readonly EntityMatcher[] = [],
  prefix = '',
): MatcherProblem[] {
  const problems: MatcherProblem[] = [];
  labels.forEach((matcher, index) => {
    if (!isRegexOp(matcher.op)) return;
    const reason = regexProblem(matcher.value);
    if (reason !== null)
      problems.push({ field: `${prefix}labels[${index}].value`, pattern: matcher.value, reason });
  });
  entities.forEach((matcher, index) => {
    if (matcher.key !== undefined && matcher.key.length > PATTERN_MAX_LENGTH)
      problems.push({
        field: `${prefix}entities[${index}].key`,
        pattern: matcher.key,
        reason: `longer than ${PATTERN_MAX_LENGTH} characters`,
      });
  });
  return problems;
}

/**
 * Compiles a label matcher once: the regex is built here, never per alert. A missing label reads
 * as the empty string, as in Alertmanager (so `team!=""` means "has a team label"). A stored
 * pattern RE2 cannot run (saved before RE2) matches nothing, for `=~` and `!~` alike: a broken
 * silence mutes nothing and a broken policy acts on nothing; start-up disables and reports them.
 */
export function compileLabelMatcher(matcher: LabelMatcher): LabelTest {
  const { name, op, value } = matcher;
  switch (op) {
    case '=':
      return (labels) => (labels[name] ?? '') === value;
    case '!=':
      return (labels) => (labels[name] ?? '') !== value;
    case '=~':
    case '!~': {
      const test = value.length > PATTERN_MAX_LENGTH ? null : compileWhole(value);
      if (typeof test !== 'function') return () => false;
      return op === '=~' ? (labels) => test(labels[name] ?? '') : (labels) => !test(labels[name] ?? '');
    }
  }
}

/** Turns a `*` glob into a whole-string, case-insensitive RE2 test; every other character is literal. */
export function globTest(glob: string): (text: string) => boolean {
  const body = glob.split('*').map(RE2JS.quote).join('.*');
  const test = compileWhole(body, RE2JS.CASE_INSENSITIVE);
  // Every character but `*` is quoted, so RE2 always accepts it; a refusal would mean a bug here.
  if (typeof test !== 'function') throw new Error(`glob ${JSON.stringify(glob)}: ${test.problem}`);
  return test;
}

export function compileEntityMatcher(matcher: EntityMatcher): EntityTest {
  const { kind, key } = matcher;
  if (key === undefined || key === '*') return (entities) => entities.some((entity) => entity.kind === kind);
  const test = globTest(key);
  return (entities) => entities.some((entity) => entity.kind === kind && test(entity.key));
}
