import type { Job } from 'bullmq';
import { z } from 'zod';
import type { ActionKind, Clock } from '../domain/index.js';
import { type ActionExecutor, PermanentExecutionError } from '../integrations/executors/index.js';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import {
  claimExecution,
  finishExecution,
  getAction,
  releaseExecution,
} from '../storage/investigation-action.repository.js';
import type { OutboxJobData } from './queues.js';

export const actPayload = z.object({ actionId: z.uuid() });

export interface ActDeps {
  readonly handle: DbHandle;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly executorFor: (kind: ActionKind) => ActionExecutor;
  /** How long a claim holds; the remote call (with its retries) must end well within it. */
  readonly leaseMs: number;
}

/** Another worker holds the action's execution: retry later, when it has finished or its lease ran out. */
export class ExecutionInFlightError extends Error {
  readonly code = 'action.execution_in_flight';
}

/**
 * Executes one approved action at most once per approval. The execution row is claimed in
 * Postgres before the remote call (a second worker with the same job finds it claimed and
 * retries later; a finished one is never called again); the call carries the action's
 * idempotency key, so if a worker dies mid-call and the lease runs out, the one that takes over
 * repeats the call under the same key and the remote does it once. Retryable failures give the
 * claim back and retry the job with backoff; a permanent failure, or the last attempt, records
 * the action as failed with the reason.
 */
export async function executeAction(
  deps: ActDeps,
  actionId: string,
  job?: Job<OutboxJobData>,
): Promise<void> {
  const { handle, clock, logger } = deps;
  const action = await getAction(handle.db, actionId);
  if (action === null) return;
  const executor = deps.executorFor(action.kind);
  const claim = await claimExecution(handle, actionId, executor.name, deps.leaseMs, clock);
  if (claim.kind === 'finished' || claim.kind === 'missing') return;
  if (claim.kind === 'in_flight') {
    throw new ExecutionInFlightError(
      `action ${actionId} is being executed elsewhere until ${claim.until.toISOString()}`,
    );
  }
  const { execution } = claim;
  try {
    const answer = await executor.execute(
      {
        actionId,
        kind: execution.action.kind,
        target: execution.action.target,
        reason: execution.action.reason,
        evidence: execution.action.evidence,
        idempotencyKey: execution.idempotencyKey,
      },
      // Give up before the lease ends, so no other worker starts while this call still runs.
      AbortSignal.timeout(Math.floor(deps.leaseMs * 0.8)),
    );
    await finishExecution(handle, actionId, { ok: true, response: answer }, clock);
    logger.info({ actionId, kind: action.kind, executor: executor.name }, 'action executed');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const lastAttempt = job === undefined || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (error instanceof PermanentExecutionError || lastAttempt) {
      await finishExecution(handle, actionId, { ok: false, error: message }, clock);
      logger.warn({ actionId, kind: action.kind, executor: executor.name, error: message }, 'action failed');
      return;
    }
    await releaseExecution(handle, actionId, message);
    throw error;
  }
}
