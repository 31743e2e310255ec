import type { Job } from 'bullmq';
import { z } from 'zod';
import { type Classification, toGraphIncidentStatus } from '../domain/index.js';
import { toGraphClassification } from '../integrations/microsoft/graph-alerts.js';
import { GraphApiError } from '../integrations/microsoft/graph-api.js';
import {
  claimIncidentWriteBack,
  failIncidentWriteBack,
  type IncidentGraphState,
  recordIncidentWriteBack,
  releaseIncidentWriteBack,
  retryIncidentWriteBackLater,
} from '../storage/incident-writeback.repository.js';
import { type GraphWriteBackDeps, RETRY_LATER_MS, WriteBackInFlightError } from './graph-writeback.worker.js';
import type { OutboxJobData } from './queues.js';

export const graphIncidentWriteBackPayload = z.object({ incidentId: z.uuid() });

/** Graph's words compared without case: Microsoft's own samples write `TruePositive` and `Active`. */
const same = (a: string | null, b: string | null) => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();
const sameState = (a: IncidentGraphState, b: IncidentGraphState) =>
  same(a.status, b.status) &&
  same(a.classification, b.classification) &&
  same(a.determination, b.determination);

function remoteState(incident: unknown): IncidentGraphState {
  const fields = (incident ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  return {
    status: text(fields.status),
    classification: text(fields.classification),
    determination: text(fields.determination),
  };
}

const lastUpdateOf = (incident: unknown): Date | null => {
  const value = (incident as { lastUpdateDateTime?: unknown } | null)?.lastUpdateDateTime;
  const date = typeof value === 'string' ? new Date(value) : null;
  return date === null || Number.isNaN(date.getTime()) ? null : date;
};

/**
 * Writes a Defender incident back to Microsoft Graph with the rules of the alert write-back:
 * `PATCH /security/incidents/{id}` with its status, classification and determination when Graph
 * does not already say them; one writer per incident (a lease); Graph read first, and a change
 * Defender made since Vigil's, later than Vigil's, wins and is put on the trail; what reached
 * Graph is recorded, so a job run again finds nothing to do and the pull sees no echo; refusals
 * retrying cannot mend (400, 403 naming the permission, 404) go on the trail of its alerts.
 */
export async function writeBackIncident(
  deps: GraphWriteBackDeps,
  incidentId: string,
  job?: Job<OutboxJobData>,
): Promise<void> {
  const { handle, graph, clock, logger, owner } = deps;
  if (graph === null) return;
  const leaseMs = deps.leaseMs ?? 2 * 60_000;
  const outcome = await claimIncidentWriteBack(handle, incidentId, owner, leaseMs, clock);
  if (outcome.kind === 'gone') return;
  if (outcome.kind === 'in_flight')
    throw new WriteBackInFlightError(
      `incident ${incidentId} is being written back until ${outcome.until.toISOString()}`,
    );
  const { claim } = outcome;
  const path = `/security/incidents/${encodeURIComponent(claim.graphId)}`;
  const signal = AbortSignal.timeout(Math.floor(leaseMs * 0.8));
  const wanted: IncidentGraphState = {
    status: toGraphIncidentStatus(claim.status),
    classification: toGraphClassification(claim.classification as Classification | null),
    determination: claim.determination,
  };
  try {
    let incident = await graph.call('GET', path, undefined, signal);
    const remote = remoteState(incident);
    const remoteAt = lastUpdateOf(incident);
    const settled = same(wanted.status, remote.status) && same(wanted.classification, remote.classification);
    let written: IncidentGraphState | null = settled ? remote : null;
    let conflict: Record<string, unknown> | null = null;
    let patch: Record<string, string> | null = null;
    if (written === null) {
      const defenderMoved = claim.recorded.status !== null && !sameState(remote, claim.recorded);
      const defenderLater =
        defenderMoved && remoteAt !== null && claim.changedAt !== null && remoteAt > claim.changedAt;
      if (defenderMoved)
        conflict = {
          winner: defenderLater ? 'defender' : 'vigil',
          vigil: { ...wanted, at: claim.changedAt?.toISOString() ?? null },
          defender: { ...remote, at: remoteAt?.toISOString() ?? null },
        };
      if (!defenderLater) {
        patch = {
          ...(same(wanted.status, remote.status) ? {} : { status: wanted.status as string }),
          ...(same(wanted.classification, remote.classification)
            ? {}
            : { classification: wanted.classification as string }),
          ...(wanted.determination === null || same(wanted.determination, remote.determination)
            ? {}
            : { determination: wanted.determination }),
        };
        incident = await graph.call('PATCH', path, patch, signal);
        written = remoteState(incident);
      }
    }
    await recordIncidentWriteBack(handle, incidentId, owner, {
      state: written,
      lastUpdate: written === null ? null : lastUpdateOf(incident),
      conflict,
      at: clock.now(),
    });
    if (patch !== null || conflict !== null)
      logger.info(
        { incidentId, graphId: claim.graphId, patch, conflict },
        'wrote the incident back to Microsoft Graph',
      );
  } catch (error) {
    if (error instanceof GraphApiError && [400, 403, 404].includes(error.status)) {
      const reason =
        error.status === 403
          ? `Microsoft Graph refused the incident write-back: grant the application permission SecurityIncident.ReadWrite.All (${error.message})`
          : error.message;
      await failIncidentWriteBack(handle, incidentId, owner, reason, clock);
      logger.warn(
        { incidentId, graphId: claim.graphId, reason },
        'Microsoft Graph refused the incident write-back',
      );
      return;
    }
    await releaseIncidentWriteBack(handle, incidentId, owner);
    const lastAttempt = job !== undefined && job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (!lastAttempt) throw error;
    logger.warn(
      { incidentId, err: error },
      'writing the incident back to Microsoft Graph keeps failing; will try again later',
    );
    await retryIncidentWriteBackLater(handle, incidentId, new Date(clock.now().getTime() + RETRY_LATER_MS));
  }
}
