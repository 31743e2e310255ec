import type { StoredAlert } from '../../../storage/alert.repository.js';
import type { AuditView } from '../../../storage/audit.repository.js';
import type { CardView } from '../../../storage/card.repository.js';
import type { InvestigationSummary } from '../../../storage/investigation-view.repository.js';

/** An alert as the API shows it: camelCase, dates as ISO strings, the raw payload left out. */
export function alertView(alert: StoredAlert) {
  return {
    id: alert.id,
    number: alert.number,
    status: alert.status,
    severity: alert.severity,
    title: alert.title,
    description: alert.description,
    source: alert.source,
    sourceId: alert.sourceId,
    category: alert.category,
    fingerprint: alert.fingerprint,
    policyName: alert.policyName,
    policyUrl: alert.policyUrl,
    vigilPolicy: alert.vigilPolicy,
    labels: alert.labels,
    links: alert.links,
    determination: alert.determination,
    classification: alert.classification,
    resolutionComment: alert.resolutionComment,
    firstSeenAt: alert.firstSeenAt.toISOString(),
    lastSeenAt: alert.lastSeenAt.toISOString(),
    occurrenceCount: alert.occurrenceCount,
    assignee: alert.assignee,
    statusChangedBy: alert.statusChangedBy,
    statusChangedAt: alert.statusChangedAt?.toISOString() ?? null,
    previousAlertId: alert.previousAlertId,
    version: alert.version,
    createdAt: alert.createdAt.toISOString(),
    updatedAt: alert.updatedAt.toISOString(),
  };
}

export function alertDetailView(
  alert: StoredAlert,
  audit: readonly AuditView[],
  cards: readonly CardView[],
  investigations: readonly InvestigationSummary[] = [],
) {
  return {
    ...alertView(alert),
    entities: alert.entities,
    cards: cards.map((card) => ({ ...card, updatedAt: card.updatedAt.toISOString() })),
    audit: audit.map((entry) => ({ ...entry, at: entry.at.toISOString() })),
    investigations: investigations.map((investigation) => ({
      ...investigation,
      createdAt: investigation.createdAt.toISOString(),
      updatedAt: investigation.updatedAt.toISOString(),
    })),
  };
}
