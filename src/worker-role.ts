import type { Redis } from 'ioredis';
import type { ChatIntegration, StartOptions } from './app.js';
import type { Clock } from './domain/index.js';
import { localDelivery } from './jobs/local-delivery.js';
import { scheduleForNewPlatforms } from './jobs/notify.worker.js';
import { OutboxHousekeeper } from './jobs/outbox-housekeeper.js';
import { OutboxRelay } from './jobs/outbox-relay.js';
import { closeQueues, createQueues } from './jobs/queues.js';
import { redisConnection } from './jobs/redis.js';
import { startTopicWorkers } from './jobs/workers.js';
import { maintainConcurrentIndexes } from './storage/concurrent-indexes.js';
import type { DbHandle } from './storage/db.js';

/** The chat platforms' remediation notifiers; none configured leaves the log's (the workers' default). */
function remediationNotifiersOf(integrations: readonly ChatIntegration[]) {
  const notifiers = integrations.flatMap((integration) =>
    integration.remediationNotifier === undefined ? [] : [integration.remediationNotifier],
  );
  return notifiers.length === 0 ? {} : { remediationNotifiers: notifiers };
}

/**
 * The worker role: the job workers, the outbox relay that feeds them, the housekeeper and the
 * index maintainer. A module of its own, imported only by processes that run it, so `vigil web`
 * does not carry BullMQ and every worker's code.
 */
export async function startWorkerRole(
  options: StartOptions,
  deps: {
    readonly handle: DbHandle;
    readonly clock: Clock;
    readonly integrations: readonly ChatIntegration[];
    /** The producers' Redis connection, which the relay's queues use. */
    readonly producer: Redis;
    /** Each stop is pushed as soon as its piece runs, so a failure later stops what started. */
    readonly stops: (() => Promise<unknown>)[];
  },
): Promise<OutboxRelay> {
  const { config, logger } = options;
  const { handle, clock, integrations, producer, stops } = deps;
  const channels = integrations.map((integration) => integration.channel);
  const queues = createQueues(producer, config.VIGIL_QUEUE_PREFIX, logger);
  stops.push(() => closeQueues(queues));
  const connection = redisConnection(config.REDIS_URL, 'worker', logger);
  stops.push(async () => connection.quit());
  const scheduled = await scheduleForNewPlatforms(
    handle,
    channels.map((channel) => channel.platform),
  );
  if (scheduled > 0)
    logger.info(
      { alerts: scheduled },
      'chat platform turned on: open alerts stored before it get their cards',
    );
  const workers = startTopicWorkers({
    handle,
    connection,
    prefix: config.VIGIL_QUEUE_PREFIX,
    logger,
    channels,
    config,
    clock,
    ...(options.deliveryTimings === undefined ? {} : { deliveryTimings: options.deliveryTimings }),
    directMessengers: integrations.flatMap((integration) =>
      integration.directMessenger === undefined ? [] : [integration.directMessenger],
    ),
    ...remediationNotifiersOf(integrations),
    identityDirectories: integrations.flatMap((integration) =>
      integration.directory === undefined ? [] : [integration.directory],
    ),
  });
  stops.push(() => Promise.all(workers.map((worker) => worker.close())));
  const deliverLocally = localDelivery({
    handle,
    channels,
    logger,
    cardLeaseMs: config.VIGIL_CARD_LEASE_MS,
  });
  const relay = new OutboxRelay({
    handle,
    ...(deliverLocally === null ? {} : { deliverLocally }),
    databaseUrl: options.databaseUrl,
    applicationName: config.VIGIL_DB_APPLICATION_NAME,
    queues,
    logger,
    ...options.relayTimings,
  });
  await relay.start();
  stops.push(() => relay.stop());
  const housekeeper = new OutboxHousekeeper({
    handle,
    logger,
    retentionDays: config.VIGIL_OUTBOX_RETENTION_DAYS,
  });
  housekeeper.start();
  stops.push(() => housekeeper.stop());
  const indexes = maintainConcurrentIndexes(handle, logger);
  stops.push(() => indexes.stop());
  return relay;
}
