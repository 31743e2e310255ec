import type { AlertEntity } from '../alert/alert.js';
import { INVESTIGATION_KIND_OF, type InvestigationEntityKind } from './investigation.js';

/** How long after an investigation starts a related alert may still join it. @defaultValue 24 hours */
export const DEFAULT_JOIN_WINDOW_SECONDS = 24 * 60 * 60;

/** An open investigation as the scope rule sees it. */
export interface OpenInvestigationScope {
  readonly id: string;
  readonly createdAt: Date;
  readonly joinWindowSeconds: number;
  readonly entities: readonly { readonly kind: InvestigationEntityKind; readonly key: string }[];
}

/** The `kind:key` identities of an alert's entities that investigations look at. */
export function scopeKeys(entities: readonly AlertEntity[]): string[] {
  return entities.flatMap((entity) => {
    const kind = INVESTIGATION_KIND_OF[entity.kind];
    return kind === undefined ? [] : [`${kind}:${entity.key}`];
  });
}

/**
 * The scope growth rule: an alert sharing an entity (same kind and key) with an open
 * investigation that started within its window joins it, the newest such investigation first.
 * Returns the investigation to join, or null. Storage applies the same rule in SQL for a batch.
 */
export function investigationToJoin(
  alertEntities: readonly AlertEntity[],
  open: readonly OpenInvestigationScope[],
  now: Date,
): string | null {
  const keys = new Set(scopeKeys(alertEntities));
  const candidates = open
    .filter(
      (investigation) =>
        now.getTime() - investigation.createdAt.getTime() <= investigation.joinWindowSeconds * 1000,
    )
    .filter((investigation) =>
      investigation.entities.some((entity) => keys.has(`${entity.kind}:${entity.key}`)),
    )
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  return candidates[0]?.id ?? null;
}
