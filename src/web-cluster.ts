import cluster, { type Worker } from 'node:cluster';
import net from 'node:net';
import type { Logger } from './logger.js';

/** The message the primary sends a web process to stop it (drain, close, exit). */
export const STOP_MESSAGE = 'vigil:stop';
/** A web process says it serves the connections it is handed; the primary hands it none before. */
export const READY_MESSAGE = 'vigil:ready';
/** The primary hands a web process a connection (the socket travels with the message). */
export const CONNECTION_MESSAGE = 'vigil:connection';

/** How long a web process may take to drain before the primary kills it. */
const STOP_GRACE_MS = 30_000;
/** Connections held (paused) while no process is ready, and for how long; more are refused. */
const MAX_WAITING_CONNECTIONS = 1_024;
const MAX_WAIT_MS = 10_000;
/** A process that died is replaced after this pause, so a crash loop cannot spin a core. */
const RESTART_DELAY_MS = 1_000;

export interface WebClusterOptions {
  readonly processes: number;
  /** The install's Postgres connections for `vigil web`, divided between its processes. */
  readonly poolSize: number;
  readonly databaseUrl: string;
  /** Where the primary listens (PORT, HOST). */
  readonly port: number;
  readonly host: string;
  readonly logger: Logger;
}

/** How many processes run and the pool each gets: the total never exceeds `poolSize`. */
export function divideWeb(processes: number, poolSize: number): { processes: number; poolEach: number } {
  const count = Math.max(1, Math.min(processes, poolSize));
  return { processes: count, poolEach: Math.floor(poolSize / count) };
}

/**
 * Whether Postgres runs on this machine: no DATABASE_URL (the embedded one), a loopback host or a
 * Unix socket (`?host=/run/postgresql`, or the path escaped as the URL's host).
 */
export function postgresOnThisHost(databaseUrl: string | undefined): boolean {
  if (databaseUrl === undefined) return true;
  const url = new URL(databaseUrl);
  // As pg reads it: the host parameter (already decoded) unless empty, else the URL's host.
  const host = (url.searchParams.get('host') || decodedHost(url.hostname)).toLowerCase();
  return (
    host === '' ||
    host.startsWith('/') ||
    host === 'localhost' ||
    host === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  );
}

/** A URL's host with its escapes undone (a socket path travels as `%2Frun%2Fpostgresql`). */
function decodedHost(hostname: string): string {
  try {
    return decodeURIComponent(hostname);
  } catch {
    return hostname;
  }
}

/**
 * `vigil web`'s processes when VIGIL_WEB_PROCESSES is unset: one per core, or half the cores (at
 * least one) when Postgres runs on the same machine. Postgres spends about as much CPU per alert as
 * the web process that sends it (0.16–0.22 ms against 0.13–0.19 ms, bench/ingest-wrk.ts), so a web
 * process per core left it none: on 2 cores with a local Postgres, two processes took 7–23% fewer
 * alerts/s than one, with a higher p99 (37–62 ms against 26–42 ms), in each of four paired runs.
 */
export function defaultWebProcesses(cores: number, postgresLocal: boolean): number {
  return postgresLocal ? Math.max(1, Math.ceil(cores / 2)) : Math.max(1, cores);
}

/**
 * Ingest transactions a web process keeps in flight: about one per core of the host, shared by the
 * host's web processes (one each with a process per core, two with one per two cores), and at
 * most half the process's pool, so ingest alone cannot hold every connection the API and the relay
 * need. Measured on 2 cores: a lone process (`serve`, or `web` with one process) took 12–26% more
 * alerts/s with two in flight than with one; four in one process had given smaller batches and a
 * lower rate.
 */
export function ingestInFlight(cores: number, webProcesses: number, poolSize: number): number {
  return Math.max(1, Math.min(Math.round(cores / Math.max(1, webProcesses)), Math.floor(poolSize / 2)));
}

/**
 * The primary of `vigil web` with several processes (node:cluster): it listens on the port and
 * hands each new connection to the next ready process in turn, so each serves as many connections
 * as the others (node:cluster's own round robin gives a connection to whichever process answers
 * first, and a burst of connections, a load generator's or a balancer's pool, ended up 51 to 13
 * on two processes: one core overloaded, the other idle). Each process runs the HTTP server with
 * its share of the Postgres pool. A process that dies is replaced; `stop` closes the port, asks
 * each to drain and resolves once all have exited.
 */
export async function startWebCluster(options: WebClusterOptions): Promise<{ stop(): Promise<void> }> {
  const { logger } = options;
  const { processes, poolEach } = divideWeb(options.processes, options.poolSize);
  let stopping = false;
  const ready: Worker[] = [];
  // Connections that came before any process was ready (start-up, every process restarting).
  const waiting = new Set<net.Socket>();
  // Connections sent to a process that has not taken them yet: if it dies, they go to another.
  const sending = new Map<Worker, Set<net.Socket>>();
  let turn = 0;
  const handOver = (socket: net.Socket): void => {
    const worker = ready[turn++ % ready.length];
    if (worker === undefined) {
      if (waiting.size >= MAX_WAITING_CONNECTIONS) {
        socket.destroy();
        return;
      }
      waiting.add(socket);
      // A client is refused in the end rather than held while no process comes up.
      setTimeout(() => {
        if (waiting.delete(socket)) socket.destroy();
      }, MAX_WAIT_MS).unref();
      return;
    }
    const inFlight = sending.get(worker) ?? new Set<net.Socket>();
    sending.set(worker, inFlight);
    inFlight.add(socket);
    worker.send(CONNECTION_MESSAGE, socket, (error: Error | null) => {
      if (!inFlight.delete(socket)) return; // the process died first: handed on already
      if (error === null) return;
      // The process cannot take connections any more (its channel closed): another one takes this.
      unready(worker);
      handOver(socket);
    });
  };
  const unready = (worker: Worker): void => {
    const at = ready.indexOf(worker);
    if (at >= 0) ready.splice(at, 1);
  };

  const listener = net.createServer({ pauseOnConnect: true }, (socket) => {
    // A connection error before it is handed over (a reset) is the client's; it must not end the primary.
    socket.on('error', () => socket.destroy());
    if (stopping) socket.destroy();
    else handOver(socket);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ port: options.port, host: options.host }, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  listener.on('error', (error) => logger.error({ err: error }, 'the web listener failed'));
  // The port the primary got (PORT=0 picks one) is the one the processes' links name.
  const address = listener.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const env = { DATABASE_URL: options.databaseUrl, VIGIL_DB_POOL_SIZE: String(poolEach), PORT: String(port) };
  const fork = (): Worker => {
    const worker = cluster.fork(env);
    worker.on('message', (message) => {
      if (message !== READY_MESSAGE || ready.includes(worker)) return;
      ready.push(worker);
      const held = [...waiting];
      waiting.clear();
      for (const socket of held) handOver(socket);
    });
    return worker;
  };
  cluster.on('exit', (worker, code, signal) => {
    unready(worker);
    const lost = [...(sending.get(worker) ?? [])];
    sending.delete(worker);
    for (const socket of lost) {
      if (stopping) socket.destroy();
      else handOver(socket);
    }
    if (stopping) return;
    logger.error({ pid: worker.process.pid, code, signal }, 'a web process died; starting another');
    setTimeout(() => {
      if (!stopping) fork();
    }, RESTART_DELAY_MS).unref();
  });
  for (let i = 0; i < processes; i += 1) fork();
  logger.info({ processes, poolEach, url: `http://${options.host}:${port}` }, 'web processes started');

  return {
    stop: async () => {
      stopping = true;
      listener.close();
      for (const socket of waiting) socket.destroy();
      waiting.clear();
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
