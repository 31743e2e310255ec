#!/usr/bin/env node
import cluster from 'node:cluster';
import type { VigilRoles } from './app.js';
import { type Config, ConfigError, loadConfig, requireForServing } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { STOP_MESSAGE, startWebCluster } from './web-cluster.js';

const USAGE = `Usage: vigil <command>

Commands:
  serve     HTTP server and all workers in one process (npm start)
  web       the HTTP server only, VIGIL_WEB_PROCESSES processes on one port (scale out with several)
  worker    the outbox relay and job workers only
  migrate   apply database migrations (safe to run concurrently)
  policies  apply <policies.yaml> [--dry-run]: policies, schedules and escalation policies
  outbox    failed [--topic T] [--limit N] | replay [--topic T] [--id ID]: work given up on
  doctor    graph: request the Graph and Defender tokens and say which permissions are missing
  demo      run Vigil on this machine with sample alerts; needs no Slack or Teams account
            (--reset: delete the data of an earlier demo run first)

Configuration comes from the environment; see README.md.`;

const ROLES: Record<string, VigilRoles> = {
  serve: { web: true, worker: true },
  web: { web: true, worker: false },
  worker: { web: false, worker: true },
};

/** The Postgres to use: DATABASE_URL, or an embedded one under VIGIL_DATA_DIR. */
async function database(config: Config, logger: Logger): Promise<{ url: string; stop(): Promise<void> }> {
  if (config.DATABASE_URL !== undefined) return { url: config.DATABASE_URL, stop: async () => {} };
  logger.info({ dataDir: config.VIGIL_DATA_DIR }, 'DATABASE_URL is unset: starting an embedded Postgres');
  const { startEmbeddedPostgres } = await import('./storage/embedded-postgres.js');
  return startEmbeddedPostgres(config.VIGIL_DATA_DIR);
}

/**
 * Stops cleanly on the first SIGINT/SIGTERM (or the primary's stop message, in a web process of
 * a cluster); a second signal exits at once. Ctrl-C reaches a cluster's processes both from the
 * terminal and from the primary: the primary's message never forces an exit.
 */
function onShutdown(stop: () => Promise<void>, logger: Logger): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) {
      if (signal === STOP_MESSAGE) return;
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    stop()
      .then(() => {
        logger.info({ signal }, 'stopped');
        process.exit(0);
      })
      .catch((error) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('message', (message) => {
    if (message === STOP_MESSAGE) handler(STOP_MESSAGE);
  });
  // A promise nobody awaited failed: log it and keep serving (Node's default is to exit).
  process.on('unhandledRejection', (reason) => {
    const error = reason instanceof Error ? reason : new Error(String(reason));
    logger.error({ error: error.message, stack: error.stack }, 'unhandled promise rejection');
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const command = argv[0];
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command === undefined ? 1 : 0;
  }
  // Each command loads only what it uses: a cluster's primary stays small, and so do the tools.
  if (command === 'demo') return (await import('./demo/demo.js')).runDemo(process.env, argv.slice(1));

  const config = loadConfig(process.env);
  const logger = createLogger(config.LOG_LEVEL);
  if (command === 'migrate') {
    const [{ openDb }, { migrate }, { ensureConcurrentIndexes }] = await Promise.all([
      import('./storage/db.js'),
      import('./storage/migrate.js'),
      import('./storage/concurrent-indexes.js'),
    ]);
    const db = await database(config, logger);
    const handle = openDb({ url: db.url, schema: config.VIGIL_DB_SCHEMA, poolSize: 1 });
    try {
      const result = await migrate(handle);
      for (const step of result.results ?? []) console.log(`${step.status}: ${step.migrationName}`);
      if (result.error !== undefined) {
        console.error('Migration failed:', result.error);
        return 1;
      }
      // Indexes on busy tables, built without blocking writes (docs/operations.md).
      const indexes = await ensureConcurrentIndexes(handle);
      for (const name of indexes.built) console.log(`Built index ${name}`);
      if (indexes.skipped) console.log('Another process is building indexes; it finishes them.');
      console.log('Database is up to date.');
      return 0;
    } finally {
      await handle.close();
      await db.stop();
    }
  }

  if (command === 'doctor') {
    if (argv[1] !== 'graph') {
      console.error('Usage: vigil doctor graph');
      return 2;
    }
    const { doctorGraph } = await import('./integrations/microsoft/doctor.js');
    return doctorGraph(config, (line) => console.log(line));
  }

  if (command === 'policies') {
    const { runPoliciesCommand } = await import('./policies-file.js');
    const db = await database(config, logger);
    try {
      return await runPoliciesCommand(argv.slice(1), config, db.url);
    } finally {
      await db.stop();
    }
  }

  if (command === 'outbox') {
    const { runOutboxCommand } = await import('./outbox-command.js');
    const db = await database(config, logger);
    try {
      return await runOutboxCommand(argv.slice(1), config, db.url, logger);
    } finally {
      await db.stop();
    }
  }

  const roles = ROLES[command];
  if (roles === undefined) {
    console.error(`Unknown command "${command}".\n\n${USAGE}`);
    return 2;
  }
  if (roles.web) requireForServing(config);
  const db = await database(config, logger);
  if (command === 'web' && cluster.isPrimary && config.VIGIL_WEB_PROCESSES > 1) {
    const web = await startWebCluster({
      processes: config.VIGIL_WEB_PROCESSES,
      poolSize: config.VIGIL_DB_POOL_SIZE,
      databaseUrl: db.url,
      port: config.PORT,
      host: config.HOST,
      logger,
    });
    onShutdown(async () => {
      await web.stop();
      await db.stop();
    }, logger);
    return -1;
  }
  const { startVigil } = await import('./app.js');
  const vigil = await startVigil({
    config,
    databaseUrl: db.url,
    logger,
    roles,
    handedConnections: command === 'web' && cluster.isWorker,
  });
  logger.info({ url: vigil.url, roles }, 'Vigil is running');
  onShutdown(async () => {
    await vigil.stop();
    await db.stop();
  }, logger);
  return -1;
}

main(process.argv.slice(2))
  .then((code) => {
    if (code >= 0) process.exit(code);
  })
  .catch((error: unknown) => {
    if (error instanceof ConfigError) {
      console.error(error.message);
    } else {
      // The cause says which dependency refused (a migration's SQL error, a connection refused).
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      console.error('Vigil could not start:', error instanceof Error ? `${error.message}${cause}` : error);
    }
    process.exit(1);
  });
