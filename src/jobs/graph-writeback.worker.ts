import type { Job } from 'bullmq';
import { z } from 'zod';
import { graphClassification } from '../bot/http/ingest/graph.js';
import {
  type AlertStatus,
  actorLabel,
  CLASSIFICATION_LABELS,
  type Classification,
  type Clock,
  DETERMINATION_LABELS,
  type Determination,
  STATUS_LABELS,
} from '../domain/index.js';
import {
  determinationOf,
  graphStatus,
  toGraphClassification,
  toGraphStatus,
} from '../integrations/microsoft/graph-alerts.js';
import { type GraphApi, GraphApiError } from '../integrations/microsoft/graph-api.js';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import {
  claimWriteBack,
  failWriteBack,
  type PendingComment,
  type RecordedState,
  recordWriteBack,
  releaseWriteBack,
  retryWriteBackLater,
  type WriteBackClaim,
} from '../storage/graph-writeback.repository.js';
import type { OutboxJobData } from './queues.js';

export const graphWriteBackPayload = z.object({ alertId: z.uuid() });

export interface GraphWriteBackDeps {
  readonly handle: DbHandle;
  /** Null when Vigil has no Graph token: there is nothing to write back to. */
  readonly graph: GraphApi | null;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly owner: string;
  /** How long one job holds an alert's write-back. @defaultValue 2 min */
  readonly leaseMs?: number;
}

/** Another job is writing this alert back: retry later, when it is done or its lease ran out. */
export class WriteBackInFlightError extends Error {
  readonly code = 'graph.write_back_in_flight';
}

/** The marker every comment carries: Graph has no idempotency key for comments, so Vigil looks for it before posting. */
export const commentMarker = (auditId: string): string => `[Vigil change ${auditId}]`;

/** What a change looks like as a comment on the Graph alert: who, where, what, and their words. */
export function commentText(change: PendingComment): string {
  const { actor, details } = change;
  const where = actor.kind === 'user' ? ` (${actor.platform})` : '';
  const to = STATUS_LABELS[details.to as AlertStatus] ?? String(details.to);
  const classification =
    typeof details.classification === 'string'
      ? `, ${CLASSIFICATION_LABELS[details.classification as Classification] ?? details.classification}`
      : '';
  const determination =
    typeof details.determination === 'string'
      ? ` (${DETERMINATION_LABELS[details.determination as Determination] ?? details.determination})`
      : '';
  const words =
    typeof details.comment === 'string' && details.comment.trim() !== '' ? `: ${details.comment}` : '';
  return `${actorLabel(actor)}${where} set this alert to ${to}${classification}${determination} in Vigil${words} ${commentMarker(change.auditId)}`.slice(
    0,
    4_000,
  );
}

const sameState = (a: RecordedState, b: RecordedState) =>
  a.status === b.status && a.classification === b.classification && a.determination === b.determination;

/** The PATCH body that brings Graph from `remote` to Vigil's state. */
function patchFor(wanted: RecordedState, remote: RecordedState): Record<string, string> {
  return {
    ...(wanted.status !== null && wanted.status !== remote.status
      ? { status: toGraphStatus(wanted.status) }
      : {}),
    ...(wanted.classification !== remote.classification
      ? { classification: toGraphClassification(wanted.classification) }
      : {}),
    ...(wanted.determination !== null && wanted.determination !== remote.determination
      ? { determination: wanted.determination }
      : {}),
  };
}

/** What a Graph alert says, in Vigil's words. */
function remoteState(alert: unknown): RecordedState {
  const fields = (alert ?? {}) as { status?: unknown; classification?: unknown; determination?: unknown };
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  return {
    status: graphStatus(text(fields.status)),
    classification: graphClassification(text(fields.classification)),
    determination: determinationOf(text(fields.determination)),
  };
}

/**
 * `assignedTo` to write: the assignee's UPN when Vigil knows it and Graph says otherwise.
 * Graph compares without case; so does this.
 */
function assignment(claim: WriteBackClaim, alert: unknown): { assignedTo?: string } {
  if (claim.assignee.kind !== 'upn') return {};
  const remote = (alert as { assignedTo?: unknown } | null)?.assignedTo;
  return typeof remote === 'string' && remote.toLowerCase() === claim.assignee.upn
    ? {}
    : { assignedTo: claim.assignee.upn };
}

const alertComments = (alert: unknown): string[] => {
  const comments = (alert as { comments?: unknown } | null)?.comments;
  return Array.isArray(comments)
    ? comments.map((comment) => String((comment as { comment?: unknown } | null)?.comment ?? ''))
    : [];
};
const lastUpdateOf = (alert: unknown): Date | null => {
  const value = (alert as { lastUpdateDateTime?: unknown } | null)?.lastUpdateDateTime;
  const date = typeof value === 'string' ? new Date(value) : null;
  return date === null || Number.isNaN(date.getTime()) ? null : date;
};

/**
 * Writes a Graph-sourced alert back to Microsoft Graph: its status and classification (and a
 * determination Vigil holds) with one PATCH when Graph does not already say them, then one
 * comment per status change a person or policy made, each with its marker, posted only if no
 * comment on the alert carries that marker. The alert's write-back is claimed first (short
 * transaction), Graph is called with no transaction open, and what reached Graph is recorded
 * last; a job that runs again after success finds nothing to do. Refusals that retrying cannot
 * mend (400, 403 with the permission it needs, 404) are put on the alert's trail and logged.
 */
export async function writeBackAlert(
  deps: GraphWriteBackDeps,
  alertId: string,
  job?: Job<OutboxJobData>,
): Promise<void> {
  const { handle, graph, clock, logger, owner } = deps;
  if (graph === null) return;
  const leaseMs = deps.leaseMs ?? 2 * 60_000;
  const outcome = await claimWriteBack(handle, alertId, owner, leaseMs, clock);
  if (outcome.kind === 'not_graph') return;
  if (outcome.kind === 'in_flight')
    throw new WriteBackInFlightError(
      `alert ${alertId} is being written back until ${outcome.until.toISOString()}`,
    );
  const { claim } = outcome;
  const path = `/security/alerts_v2/${encodeURIComponent(claim.graphId)}`;
  const signal = AbortSignal.timeout(Math.floor(leaseMs * 0.8));
  try {
    // Read Graph first: what it holds decides whether to write, and shows a change made in Defender meanwhile.
    let alert = await graph.call('GET', path, undefined, signal);
    const remote = remoteState(alert);
    const remoteAt = lastUpdateOf(alert);
    let written: RecordedState | null = sameState(claim.wanted, remote) ? remote : null;
    const conflict: Record<string, unknown>[] = [];
    let patch: Record<string, string> | null = null;
    if (written === null) {
      // Defender changed the alert since Vigil last saw it, and Vigil changed it too: the later change wins.
      const defenderMoved = !sameState(remote, claim.recorded);
      const defenderLater =
        defenderMoved && remoteAt !== null && claim.changedAt !== null && remoteAt > claim.changedAt;
      if (defenderMoved)
        conflict.push({
          winner: defenderLater ? 'defender' : 'vigil',
          vigil: { ...claim.wanted, at: claim.changedAt?.toISOString() ?? null },
          defender: { ...remote, at: remoteAt?.toISOString() ?? null },
        });
      if (!defenderLater) {
        patch = { ...patchFor(claim.wanted, remote), ...assignment(claim, alert) };
        alert = await graph.call('PATCH', path, patch, signal);
        written = claim.wanted;
      }
    }
    // The assignee, on its own when nothing else was to be written.
    const assign = assignment(claim, alert);
    if (Object.keys(assign).length > 0) {
      patch = { ...patch, ...assign };
      alert = await graph.call('PATCH', path, assign, signal);
    }
    let through: string | null = null;
    const posted = alertComments(alert);
    for (const change of claim.comments) {
      if (!posted.some((text) => text.includes(commentMarker(change.auditId)))) {
        await graph.call(
          'POST',
          `${path}/comments`,
          { '@odata.type': '#microsoft.graph.security.alertComment', comment: commentText(change) },
          signal,
        );
      }
      through = change.auditId;
    }
    // When Defender's later change won, what Vigil last saw stays as it was: the next pull takes that change.
    await recordWriteBack(handle, claim.graphId, owner, {
      state: written,
      lastUpdate: written === null ? null : lastUpdateOf(alert),
      commentsThrough: through,
      ...(claim.assignee.kind === 'upn' ? { assignedTo: claim.assignee.upn } : {}),
      skipped:
        claim.assignee.kind === 'unknown' && !claim.assignee.noted
          ? {
              alertId: claim.alertId,
              details: {
                target: 'Microsoft Graph',
                field: 'assignedTo',
                assignee: claim.assignee.key,
                reason: `Vigil knows no user principal name for ${claim.assignee.key}, so Defender's assignee was left as it is`,
              },
              at: clock.now(),
            }
          : null,
      conflict:
        conflict[0] === undefined ? null : { alertId: claim.alertId, details: conflict[0], at: clock.now() },
    });
    if (patch !== null || through !== null || conflict.length > 0)
      logger.info(
        { alertId, graphId: claim.graphId, patch, comments: claim.comments.length, conflict: conflict[0] },
        'wrote the alert back to Microsoft Graph',
      );
  } catch (error) {
    if (error instanceof GraphApiError && [400, 403, 404].includes(error.status)) {
      const reason =
        error.status === 403
          ? `Microsoft Graph refused the write-back: grant the application permission SecurityAlert.ReadWrite.All (${error.message})`
          : error.message;
      await failWriteBack(handle, claim, owner, reason, clock);
      logger.warn({ alertId, graphId: claim.graphId, reason }, 'Microsoft Graph refused the write-back');
      return;
    }
    await releaseWriteBack(handle, claim.graphId, owner);
    const lastAttempt = job !== undefined && job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (!lastAttempt) throw error;
    // Graph (or the token endpoint) has been down through every attempt: try again later rather than lose it.
    logger.warn(
      { alertId, err: error },
      'writing back to Microsoft Graph keeps failing; will try again later',
    );
    await retryWriteBackLater(handle, alertId, new Date(clock.now().getTime() + RETRY_LATER_MS));
  }
}

/** When a write-back that used up its attempts is tried again. */
export const RETRY_LATER_MS = 5 * 60_000;
