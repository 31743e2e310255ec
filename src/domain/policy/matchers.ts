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

/**
 * Compiles a label matcher once: the regex is built here, never per alert. A missing label reads
 * as the empty string, as in Alertmanager (so `team!=""` means "has a team label").
 */
export function compileLabelMatcher(matcher: LabelMatcher): LabelTest {
  const { name, op, value } = matcher;
  switch (op) {
    case '=':
      return (labels) => (labels[name] ?? '') === value;
    case '!=':
      return (labels) => (labels[name] ?? '') !== value;
    case '=~': {
      const regex = new RegExp(`^(?:${value})$`);
      return (labels) => regex.test(labels[name] ?? '');
    }
    case '!~': {
      const regex = new RegExp(`^(?:${value})$`);
      return (labels) => !regex.test(labels[name] ?? '');
    }
  }
}

/** Turns a `*` glob into an anchored, case-insensitive regex; every other character is literal. */
export function globToRegex(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'i');
}

export function compileEntityMatcher(matcher: EntityMatcher): EntityTest {
  const { kind, key } = matcher;
  if (key === undefined || key === '*') return (entities) => entities.some((entity) => entity.kind === kind);
  const regex = globToRegex(key);
  return (entities) => entities.some((entity) => entity.kind === kind && regex.test(entity.key));
}

/** Checks a regex before it is stored, so a bad policy or silence is refused with its path. */
export function regexProblem(pattern: string): string | null {
  try {
    new RegExp(`^(?:${pattern})$`);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
