import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../config.js';
import {
  type ApprovalPolicy,
  type Clock,
  DEFAULT_APPROVAL_POLICY,
  type EnrichmentProviderName,
  isOpenInvestigation,
  systemClock,
} from '../domain/index.js';
import {
  type EnrichmentProvider,
  type EnrichmentResult,
  enrichmentProviders,
} from '../integrations/enrichment/index.js';
import { executorFor } from '../integrations/executors/index.js';
import { type MicrosoftAccess, microsoftAccess } from '../integrations/microsoft/access.js';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import { loadRun, markRunning, recordStep, settleRound } from '../storage/investigation.repository.js';
import { actPayload, executeAction } from './act.worker.js';
import { topicWorker } from './worker.js';

export const investigatePayload = z.object({
  investigationId: z.uuid(),
  round: z.number().int().positive(),
});

export interface InvestigateDeps {
  readonly handle: DbHandle;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly providers: ReadonlyMap<EnrichmentProviderName, EnrichmentProvider>;
  readonly policy: ApprovalPolicy;
  /** Time limit of one step, whatever the provider's own. @defaultValue 30000 */
  readonly stepTimeoutMs?: number;
}

/**
 * Runs (or resumes) one round of an investigation's playbook: each step not yet logged for
 * this round runs through its enrichment provider and its result is written once (see
 * `recordStep`); a failed step is logged and the next one runs. Then the round is settled:
 * actions proposed, approved by policy where automation allows, status derived. A job for a
 * round that a newer one replaced (a related alert joined) does nothing: the newer job runs.
 */
export async function runInvestigation(
  deps: InvestigateDeps,
  investigationId: string,
  round: number,
): Promise<void> {
  const { handle, clock, logger } = deps;
  const run = await loadRun(handle.db, investigationId, round);
  if (run === null || !isOpenInvestigation(run.status) || run.scopeRound !== round) return;
  await markRunning(handle, investigationId, round, clock);
  for (const step of run.steps) {
    if (run.doneSteps.has(step.key)) continue;
    const startedAt = clock.now();
    let result: EnrichmentResult = { verdicts: [], findings: [], summary: {} };
    let error: string | null = null;
    try {
      const provider = deps.providers.get(step.provider);
      if (provider === undefined) throw new Error(`no enrichment provider ${step.provider}`);
      result = await withDeadline(deps.stepTimeoutMs ?? 30_000, (signal) =>
        provider.run({
          investigationId,
          round,
          step,
          alerts: run.alerts,
          entities: run.entities,
          now: startedAt,
          signal,
        }),
      );
    } catch (caught) {
      error = caught instanceof Error ? caught.message : String(caught);
      logger.warn(
        { investigationId, step: step.key, provider: step.provider, error },
        'investigation step failed; going on',
      );
    }
    await recordStep(handle, investigationId, run.triggerAlertId, {
      step,
      round,
      startedAt,
      endedAt: clock.now(),
      outcome: error === null ? 'succeeded' : 'failed',
      error,
      verdicts: error === null ? result.verdicts : [],
      findings: error === null ? result.findings : [],
      summary: result.summary,
    });
  }
  await settleRound(handle, investigationId, round, deps.policy, clock);
}

/** Runs `work` with an abort signal that fires after `ms`, and gives up at that time even if `work` ignores it. */
async function withDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`step timed out after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Secrets an http enrichment step may name: only `VIGIL_SECRET_*` variables of this process. */
const envSecrets = (name: string): string | undefined =>
  name.startsWith('VIGIL_SECRET_') ? process.env[name] : undefined;

/** The approval policy of the configuration (VIGIL_APPROVAL_MAX_TARGETS, VIGIL_PRIVILEGED_USERS). */
export const approvalPolicyOf = (config: Config | undefined): ApprovalPolicy =>
  config === undefined
    ? DEFAULT_APPROVAL_POLICY
    : { maxTargets: config.VIGIL_APPROVAL_MAX_TARGETS, privilegedUsers: config.VIGIL_PRIVILEGED_USERS };

/** The `investigate` and `act` workers (registered in workers.ts). */
export function investigationWorkers(deps: {
  readonly handle: DbHandle;
  readonly connection: Redis;
  readonly prefix: string;
  readonly logger: Logger;
  readonly config?: Config | undefined;
  readonly clock?: Clock | undefined;
  /** The process's Graph and Defender tokens. @defaultValue built from `config` */
  readonly microsoft?: MicrosoftAccess;
}): Worker[] {
  const { handle, connection, prefix, logger, config } = deps;
  const clock = deps.clock ?? systemClock;
  const common = { handle, connection, prefix, logger };
  const investigateDeps: InvestigateDeps = {
    handle,
    logger,
    clock,
    providers: enrichmentProviders(handle.db, envSecrets, {
      maxCalls: config?.VIGIL_ENRICHMENT_MAX_CALLS ?? 50,
    }),
    policy: approvalPolicyOf(config),
  };
  const actDeps = {
    handle,
    logger,
    clock,
    executorFor: executorFor(
      { VIGIL_EXECUTOR_TIMEOUT_MS: 10_000, ...config },
      deps.microsoft ?? microsoftAccess(config ?? {}),
    ),
    leaseMs: config?.VIGIL_ACTION_LEASE_MS ?? 60_000,
  };
  return [
    topicWorker({
      ...common,
      topic: 'investigate',
      concurrency: 32,
      payload: investigatePayload,
      process: (payload) => runInvestigation(investigateDeps, payload.investigationId, payload.round),
    }),
    topicWorker({
      ...common,
      topic: 'act',
      concurrency: 16,
      payload: actPayload,
      process: (payload, job) => executeAction(actDeps, payload.actionId, job),
    }),
  ];
}
