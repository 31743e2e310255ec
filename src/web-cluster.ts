import cluster, { type Worker } from 'node:cluster';
import type { Logger } from './logger.js';

/** The message the primary sends a web process to stop it (drain, close, exit). */
export const STOP_MESSAGE = 'vigil:stop';

/** How long a web process may take to drain before the primary kills it. */
const STOP_GRACE_MS = 30_000;
/** A process that died is replaced after this pause, so a crash loop cannot spin a core. */
const RESTART_DELAY_MS = 1_000;

export interface WebClusterOptions {
  readonly processes: number;
  /** The install's Postgres connections for `vigil web`, divided between its processes. */
  readonly poolSize: number;
  readonly databaseUrl: string;
  readonly logger: Logger;
}

/** How many processes run and the pool each gets: the total never exceeds `poolSize`. */
export function divideWeb(processes: number, poolSize: number): { processes: number; poolEach: number } {
  const count = Math.max(1, Math.min(processes, poolSize));
  return { processes: count, poolEach: Math.floor(poolSize / count) };
}

/**
 * The primary of `vigil web` with several processes (node:cluster): they share one port (the
 * primary accepts and hands connections round robin), each runs the HTTP server alone with its
 * share of the Postgres pool. A process that dies is replaced; `stop` asks each to drain and
 * resolves once all have exited.
 */
export function startWebCluster(options: WebClusterOptions): { stop(): Promise<void> } {
  const { logger } = options;
  const { processes, poolEach } = divideWeb(options.processes, options.poolSize);
  const env = { DATABASE_URL: options.databaseUrl, VIGIL_DB_POOL_SIZE: String(poolEach) };
  let stopping = false;
  const fork = (): Worker => cluster.fork(env);

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.error({ pid: worker.process.pid, code, signal }, 'a web process died; starting another');
    setTimeout(() => {
      if (!stopping) fork();
    }, RESTART_DELAY_MS).unref();
  });
  for (let i = 0; i < processes; i += 1) fork();
  logger.info({ processes, poolEach }, 'web processes started');

  return {
    stop: async () => {
      stopping = true;
      const running = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      await Promise.all(
        running.map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (worker.isDead()) return resolve();
              const kill = setTimeout(() => worker.process.kill('SIGKILL'), STOP_GRACE_MS);
              worker.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              if (worker.isConnected()) worker.send(STOP_MESSAGE);
              else worker.process.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
