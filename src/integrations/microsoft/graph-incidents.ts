import { z } from 'zod';
import { readableDate } from './graph-alerts.js';

/** An incident as the pull reads it from `GET /security/incidents?$expand=alerts`. */
export interface PulledIncident {
  readonly graphId: string;
  readonly displayName: string | null;
  readonly severity: string | null;
  readonly webUrl: string | null;
  readonly status: string | null;
  readonly classification: string | null;
  readonly determination: string | null;
  readonly assignedTo: string | null;
  readonly lastUpdate: Date | null;
  /** Graph alert IDs of its alerts. */
  readonly alertIds: readonly string[];
}

const text = z.string().nullish();

/** `microsoft.graph.security.incident` as far as Vigil reads it; unknown fields are ignored. */
const graphIncident = z.object({
  id: z.union([z.string().min(1), z.number()]),
  displayName: text,
  severity: text,
  status: text,
  classification: text,
  determination: text,
  assignedTo: text,
  incidentWebUrl: text,
  lastUpdateDateTime: text,
  alerts: z.array(z.object({ id: z.union([z.string().min(1), z.number()]) }).loose()).nullish(),
});

/** One incident of a pulled page, or why it is skipped (the page goes on without it). */
export function parseGraphIncident(
  item: unknown,
):
  | { readonly ok: true; readonly incident: PulledIncident }
  | { readonly ok: false; readonly reason: string } {
  const result = graphIncident.safeParse(item);
  if (!result.success)
    return {
      ok: false,
      reason: result.error.issues
        .map((issue) => `${issue.path.join('.') || '(item)'}: ${issue.message}`)
        .join('; '),
    };
  const incident = result.data;
  return {
    ok: true,
    incident: {
      graphId: String(incident.id),
      displayName: incident.displayName ?? null,
      severity: incident.severity ?? null,
      webUrl: incident.incidentWebUrl ?? null,
      status: incident.status ?? null,
      classification: incident.classification ?? null,
      determination: incident.determination ?? null,
      assignedTo: incident.assignedTo ?? null,
      lastUpdate: readableDate(incident.lastUpdateDateTime),
      alertIds: (incident.alerts ?? []).map((alert) => String(alert.id)),
    },
  };
}
