import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(REPO, 'dist/cli.js');

/** Newest modification time of the sources `tsc -p tsconfig.json` compiles. */
function newestSource(): number {
  let newest = 0;
  for (const file of readdirSync(path.join(REPO, 'src'), { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
    newest = Math.max(newest, statSync(path.join(REPO, 'src', file)).mtimeMs);
  }
  return newest;
}

function builtAt(): number {
  try {
    return statSync(CLI).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * vitest globalSetup of the fault project: its tests run the built `node dist/cli.js`, so a
 * dist/ older than the sources would test yesterday's Vigil. Builds it once when stale.
 */
export default function buildDist(): void {
  if (builtAt() >= newestSource()) return;
  console.log('dist/ is older than src/: building it (tsc -p tsconfig.json) for the fault tests');
  try {
    execFileSync(
      process.execPath,
      [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
      {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  } catch (error) {
    const output = (error as { stdout?: Buffer }).stdout?.toString() ?? String(error);
    throw new Error(`The fault tests need a build of src/, and tsc failed:\n${output}`);
  }
}
