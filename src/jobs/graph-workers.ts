import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { type Clock, systemClock } from '../domain/index.js';
import type { MicrosoftAccess } from '../integrations/microsoft/access.js';
import { GraphApi } from '../integrations/microsoft/graph-api.js';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import { schedulePull } from '../storage/graph-sync.repository.js';
import { graphIncidentWriteBackPayload, writeBackIncident } from './graph-incident-writeback.worker.js';
import { graphPullPayload, processOwner, runGraphPull } from './graph-pull.worker.js';
import { graphWriteBackPayload, writeBackAlert } from './graph-writeback.worker.js';
import { topicWorker } from './worker.js';

export const DEFAULT_GRAPH_API_URL = 'https://graph.microsoft.com/v1.0';

/**
 * The Microsoft Graph workers, always registered (without a Graph token, or with the pull off,
 * their jobs end at once, so no outbox row waits forever). The alert pull runs when
 * VIGIL_GRAPH_POLL_SECONDS is not 0 and Vigil has a Graph token (app credentials or
 * VIGIL_GRAPH_TOKEN); every start puts it back in the outbox unless it is already there, so
 * neither a Redis wipe nor a crash loses the schedule.
 */
export function graphWorkers(
  deps: {
    readonly handle: DbHandle;
    readonly connection: Redis;
    readonly prefix: string;
    readonly logger: Logger;
    readonly config?: Config | undefined;
    readonly clock?: Clock | undefined;
  },
  microsoft: MicrosoftAccess,
): Worker[] {
  const { handle, connection, prefix, logger, config } = deps;
  const clock = deps.clock ?? systemClock;
  const owner = processOwner();
  const graph =
    microsoft.graph === null
      ? null
      : new GraphApi({
          baseUrl: config?.VIGIL_GRAPH_API_URL ?? DEFAULT_GRAPH_API_URL,
          bearer: microsoft.graph,
        });
  const common = { handle, connection, prefix, logger };
  const writeBack = topicWorker({
    ...common,
    topic: 'graph_writeback',
    concurrency: 8,
    payload: graphWriteBackPayload,
    process: (payload, job) => writeBackAlert({ handle, graph, clock, logger, owner }, payload.alertId, job),
  });
  const incidentWriteBack = topicWorker({
    ...common,
    topic: 'graph_incident_writeback',
    concurrency: 4,
    payload: graphIncidentWriteBackPayload,
    process: (payload, job) =>
      writeBackIncident({ handle, graph, clock, logger, owner }, payload.incidentId, job),
  });
  const pollMs = (config?.VIGIL_GRAPH_POLL_SECONDS ?? 0) * 1000;
  const pullDeps = graph === null || pollMs === 0 ? null : { handle, graph, clock, logger, pollMs, owner };
  if (pullDeps !== null) {
    schedulePull(handle, clock.now(), null).catch((error: unknown) =>
      logger.warn({ err: error }, 'could not schedule the Graph pull; the next start will'),
    );
  }
  return [
    writeBack,
    incidentWriteBack,
    // Always there: with the pull turned off, a pull left in the outbox ends the chain instead of waiting forever.
    topicWorker({
      ...common,
      topic: 'graph_pull',
      concurrency: 1,
      payload: graphPullPayload,
      process: async (_payload, job) => {
        if (pullDeps !== null) await runGraphPull(pullDeps, job);
      },
    }),
  ];
}
