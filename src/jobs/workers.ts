import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import PQueue from 'p-queue';
import { type Config, publicUrl } from '../config.js';
import {
  type ChatChannel,
  type Clock,
  type DirectMessenger,
  type RemediationNotifier,
  systemClock,
} from '../domain/index.js';
import { microsoftAccess } from '../integrations/microsoft/access.js';
import { builtinTickets, ticketGatewayFor } from '../integrations/ticketing/index.js';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import { escalatePayload, runEscalationStep } from './escalate.worker.js';
import { graphWorkers } from './graph-workers.js';
import { type IdentityDirectory, identityLookupPayload, lookUpIdentity } from './identity-lookup.worker.js';
import { approvalPolicyOf, investigationWorkers } from './investigate.worker.js';
import { DEFAULT_CARD_LEASE_MS, deliverAlerts, notifyPayload } from './notify.worker.js';
import {
  policyInvestigatePayload,
  policyRemediatePayload,
  runPolicyRemediation,
  startPolicyInvestigation,
} from './policy-remediate.worker.js';
import type { DeliveryRetry } from './queues.js';
import { remediationDue, remediationDuePayload } from './remediation-due.worker.js';
import {
  deliverRemediationNotice,
  logRemediationNotifier,
  remediationNoticePayload,
} from './remediation-notice.worker.js';
import { openTicket, pollTicket, ticketPayload } from './ticket.worker.js';
import { jobSlots, sharedTopicWorker, topicWorker } from './worker.js';

export interface WorkerDeps {
  readonly handle: DbHandle;
  readonly connection: Redis;
  readonly prefix: string;
  readonly logger: Logger;
  readonly channels: readonly ChatChannel[];
  /** Ticketing connector and poll interval; without it, the built-in tracker. */
  readonly config?: Config;
  /** The clock remediation due dates and exceptions are judged by. @defaultValue systemClock */
  readonly clock?: Clock;
  /** Direct messages for escalation pages (Slack DM, Teams personal chat). */
  readonly directMessengers?: readonly DirectMessenger[];
  /** Retry timings of chat and ticket deliveries (tests shorten them); the window defaults to the configuration's. */
  readonly deliveryTimings?: Partial<DeliveryRetry>;
  /** Where remediation notices go (Slack, Teams); a log line when none is given. */
  readonly remediationNotifiers?: readonly RemediationNotifier[];
  /** Where identities' e-mails are looked up for automatic linking (Slack, Teams). */
  readonly identityDirectories?: readonly IdentityDirectory[];
}

/** Chat cards and tickets are retried this way until VIGIL_DELIVERY_RETRY_HOURS have passed. */
export function deliveryRetry(deps: Pick<WorkerDeps, 'config' | 'deliveryTimings'>): DeliveryRetry {
  return {
    windowMs: deps.deliveryTimings?.windowMs ?? (deps.config?.VIGIL_DELIVERY_RETRY_HOURS ?? 24) * 3_600_000,
    baseMs: deps.deliveryTimings?.baseMs ?? 1_000,
    capMs: deps.deliveryTimings?.capMs ?? 300_000,
  };
}

/** One BullMQ worker per outbox topic; a new topic adds its worker here and its name to TOPICS. */
export function startTopicWorkers(deps: WorkerDeps): Worker[] {
  const { handle, connection, prefix, logger, channels } = deps;
  const common = { handle, connection, prefix, logger };
  // One token cache per process for every worker that calls Microsoft.
  const microsoft = microsoftAccess(deps.config ?? {});
  const notifyDeps = {
    handle,
    channels,
    logger,
    cardLeaseMs: deps.config?.VIGIL_CARD_LEASE_MS ?? DEFAULT_CARD_LEASE_MS,
    // The topic's share of the pool, as when each alert had a job of its own: the other topics
    // (a Graph write-back) and ingest keep their connections however large a card backlog is.
    renders: new PQueue({ concurrency: jobSlots(16, handle) }),
  };
  const workers = [
    sharedTopicWorker({
      ...common,
      topic: 'notify',
      // Jobs of up to NOTIFY_BATCH alerts whose renders share `renders`: four at once keep a card
      // stream's latency (bench/slack.ts p50 78 ms, as one job an alert had) while a Graph pull's
      // card backlog leaves the pull its connections (eight jobs: 770 changed alerts/s, four: 971).
      concurrency: 4,
      payload: notifyPayload,
      retry: deliveryRetry(deps),
      process: (rows) =>
        deliverAlerts(
          notifyDeps,
          rows.map((row) => ({ outboxId: row.outboxId, alertId: row.payload.alertId })),
        ),
    }),
    ...remediationWorkers(deps),
    ...policyWorkers(deps),
    ...investigationWorkers({ ...deps, microsoft }),
    ...graphWorkers(deps, microsoft),
    topicWorker({
      ...common,
      topic: 'identity_lookup',
      concurrency: 4,
      payload: identityLookupPayload,
      process: (payload) =>
        lookUpIdentity(
          {
            handle,
            logger,
            clock: deps.clock ?? systemClock,
            directories: deps.identityDirectories ?? [],
          },
          payload,
        ),
    }),
  ];
  logger.info(
    {
      poolSize: handle.pool.options.max,
      acquireTimeoutMs: handle.pool.options.connectionTimeoutMillis,
      concurrency: Object.fromEntries(workers.map((worker) => [worker.name, worker.concurrency])),
    },
    'job workers started: concurrency per topic is capped below the Postgres pool size (no job holds two connections at once)',
  );
  return workers;
}

/** The remediation topics: tickets (open, poll), the due-date clock, and notices to people. */
function remediationWorkers(deps: WorkerDeps): Worker[] {
  const { handle, connection, prefix, logger, config } = deps;
  const common = { handle, connection, prefix, logger };
  const clock = deps.clock ?? systemClock;
  const gateway = config === undefined ? builtinTickets() : ticketGatewayFor(config);
  const ticketDeps = {
    handle,
    gateway,
    clock,
    logger,
    publicUrl: config === undefined ? '' : publicUrl(config),
    pollMs: (config?.VIGIL_TICKET_POLL_SECONDS ?? 300) * 1000,
  };
  const notifiers = deps.remediationNotifiers ?? [logRemediationNotifier(logger)];
  return [
    topicWorker({
      ...common,
      topic: 'ticket',
      concurrency: 16,
      payload: ticketPayload,
      retry: deliveryRetry(deps),
      process: (payload) =>
        payload.kind === 'open'
          ? openTicket(ticketDeps, payload.remediationId)
          : pollTicket(ticketDeps, payload.remediationId, payload.seq),
    }),
    topicWorker({
      ...common,
      topic: 'remediation_due',
      concurrency: 8,
      payload: remediationDuePayload,
      process: (payload) => remediationDue({ handle, clock, logger }, payload),
    }),
    topicWorker({
      ...common,
      topic: 'remediation_notice',
      concurrency: 8,
      payload: remediationNoticePayload,
      process: (payload, job) =>
        deliverRemediationNotice({ handle, clock, logger, notifiers, gateway }, payload, job.data.outboxId),
    }),
  ];
}

/** Policies' work after ingest: escalation steps at their due time, and auto-remediation. */
function policyWorkers(deps: WorkerDeps): Worker[] {
  const { handle, connection, prefix, logger, config } = deps;
  const common = { handle, connection, prefix, logger };
  const clock = deps.clock ?? systemClock;
  const escalateDeps = {
    handle,
    clock,
    logger,
    messengers: deps.directMessengers ?? [],
    publicUrl: config === undefined ? undefined : publicUrl(config),
  };
  return [
    topicWorker({
      ...common,
      topic: 'escalate',
      concurrency: 16,
      payload: escalatePayload,
      process: (payload) => runEscalationStep(escalateDeps, payload),
    }),
    topicWorker({
      ...common,
      topic: 'policy_remediate',
      concurrency: 4,
      payload: policyRemediatePayload,
      // Steps run as actions through the act worker and its executors (see runPolicyRemediation).
      process: (payload) =>
        runPolicyRemediation({ handle, clock, logger, approval: approvalPolicyOf(config) }, payload),
    }),
    topicWorker({
      ...common,
      topic: 'policy_investigate',
      concurrency: 4,
      payload: policyInvestigatePayload,
      process: (payload) => startPolicyInvestigation({ handle, clock, logger }, payload),
    }),
  ];
}
