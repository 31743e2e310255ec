import { type AlertDraft, type AlertEntity, type Severity, severityRank } from './alert.js';

/**
 * Occurrences of one fingerprint that arrived together, folded into one: the first draft speaks
 * for the group, the count says how many there were, the time span covers them all.
 */
export interface OccurrenceGroup {
  readonly draft: AlertDraft;
  readonly count: number;
  readonly firstSeenAt: Date;
  readonly lastSeenAt: Date;
  /** Indexes of the drafts of this group in the input, so each caller gets its own answer. */
  readonly members: readonly number[];
}

const entityId = (entity: AlertEntity): string => `${entity.kind}\u0000${entity.key}`;

/** Entities of `a`, then those of `b` that `a` does not have. */
export function unionEntities(a: readonly AlertEntity[], b: readonly AlertEntity[]): AlertEntity[] {
  const seen = new Set(a.map(entityId));
  return [...a, ...b.filter((entity) => !seen.has(entityId(entity)))];
}

export const higherSeverity = (a: Severity, b: Severity): Severity =>
  severityRank(a) >= severityRank(b) ? a : b;

/**
 * Folds drafts that share a fingerprint, in arrival order. An open alert with the same fingerprint
 * then takes the whole group as one occurrence update (see {@link occurrenceUpdate}).
 */
export function groupOccurrences(drafts: readonly AlertDraft[]): OccurrenceGroup[] {
  const groups = new Map<
    string,
    { draft: AlertDraft; count: number; first: Date; last: Date; members: number[] }
  >();
  drafts.forEach((draft, index) => {
    const group = groups.get(draft.fingerprint);
    if (group === undefined) {
      groups.set(draft.fingerprint, {
        draft,
        count: 1,
        first: draft.occurredAt,
        last: draft.occurredAt,
        members: [index],
      });
      return;
    }
    group.count += 1;
    group.members.push(index);
    if (draft.occurredAt < group.first) group.first = draft.occurredAt;
    if (draft.occurredAt > group.last) group.last = draft.occurredAt;
    group.draft = {
      ...group.draft,
      severity: higherSeverity(group.draft.severity, draft.severity),
      entities: unionEntities(group.draft.entities, draft.entities),
    };
  });
  return [...groups.values()].map((g) => ({
    draft: g.draft,
    count: g.count,
    firstSeenAt: g.first,
    lastSeenAt: g.last,
    members: g.members,
  }));
}

/**
 * What an open alert becomes when more occurrences of it arrive: the count grows by the group's,
 * last seen moves forward (never back: sources deliver out of order), the severity only rises,
 * and new entities join. Title, description and status stay as they were: a storm must not
 * overwrite what an analyst is reading, nor reopen their work.
 *
 * Storage applies this rule in one atomic upsert (see alert-ingest in src/storage); the
 * integration tests check that it agrees with this function.
 */
export function occurrenceUpdate(
  current: { occurrenceCount: number; lastSeenAt: Date; severity: Severity },
  group: Pick<OccurrenceGroup, 'count' | 'lastSeenAt' | 'draft'>,
): { occurrenceCount: number; lastSeenAt: Date; severity: Severity } {
  return {
    occurrenceCount: current.occurrenceCount + group.count,
    lastSeenAt: new Date(Math.max(group.lastSeenAt.getTime(), current.lastSeenAt.getTime())),
    severity: higherSeverity(current.severity, group.draft.severity),
  };
}

/**
 * Whether occurrences that began at `startedAt` belong to the fingerprint's latest alert although
 * it is resolved: they started before it was resolved, so they are a late or repeated delivery of
 * that episode (Graph re-sending a resolved alert, Alertmanager repeating a group), not a new
 * firing. They are counted on the resolved alert and reopen nothing. Occurrences that began after
 * the resolution open a new alert.
 */
export function belongsToResolvedAlert(
  latest: { readonly status: string; readonly statusChangedAt: Date | null },
  startedAt: Date,
): boolean {
  return (
    latest.status === 'resolved' && latest.statusChangedAt !== null && startedAt <= latest.statusChangedAt
  );
}
