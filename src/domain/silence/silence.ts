import type { Actor } from '../actor.js';
import {
  compileEntityMatcher,
  compileLabelMatcher,
  type EntityMatcher,
  type LabelMatcher,
  matcherProblems,
} from '../policy/matchers.js';
import type { PolicySubject } from '../policy/policy.evaluate.js';

/**
 * A silence mutes matching alerts between `startsAt` and `endsAt`: they are stored, counted and
 * audited as usual, but not posted to chat and not paged. At least one matcher is required, so a
 * silence can never mute everything by accident.
 */
export interface Silence {
  readonly id: string;
  readonly labels: readonly LabelMatcher[];
  readonly entities: readonly EntityMatcher[];
  readonly startsAt: Date;
  readonly endsAt: Date;
  readonly createdBy: Actor;
  readonly comment: string;
}

export interface CompiledSilence {
  readonly silence: Silence;
  readonly test: (subject: PolicySubject) => boolean;
}

export function compileSilence(silence: Silence): CompiledSilence {
  const labels = silence.labels.map(compileLabelMatcher);
  const entities = silence.entities.map(compileEntityMatcher);
  return {
    silence,
    test: (subject) =>
      labels.every((test) => test(subject.labels)) && entities.every((test) => test(subject.entities)),
  };
}

/** Active at `now`: started, not yet ended (the end is exclusive). */
export const silenceActive = (silence: Pick<Silence, 'startsAt' | 'endsAt'>, now: Date): boolean =>
  silence.startsAt.getTime() <= now.getTime() && now.getTime() < silence.endsAt.getTime();

/** The first active silence that matches, or null. */
export function silenceFor(
  silences: readonly CompiledSilence[],
  subject: PolicySubject,
  now: Date,
): Silence | null {
  for (const compiled of silences) {
    if (silenceActive(compiled.silence, now) && compiled.test(subject)) return compiled.silence;
  }
  return null;
}

/** What is wrong with a new silence, or null. */
export function silenceProblem(silence: Omit<Silence, 'id'>): string | null {
  if (silence.labels.length === 0 && silence.entities.length === 0) {
    return 'A silence needs at least one label or entity matcher.';
  }
  if (silence.endsAt.getTime() <= silence.startsAt.getTime()) return 'A silence must end after it starts.';
  const [pattern] = matcherProblems(silence.labels, silence.entities);
  if (pattern !== undefined)
    return `The pattern \`${pattern.pattern}\` (${pattern.field}) is refused: ${pattern.reason}.`;
  return null;
}
