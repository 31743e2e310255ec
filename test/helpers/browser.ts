import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BrowserContext, chromium } from 'playwright-core';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

/** Debian's Chromium (package `chromium`); CHROMIUM_PATH points elsewhere. */
const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
  (candidate): candidate is string => candidate !== undefined && candidate !== '',
);

/** The flags this machine needs: no sandbox as root, and no calls to Google's hosts on a closed network. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

const found = (): string | null => CANDIDATES.find((candidate) => existsSync(candidate)) ?? null;

/**
 * Finds Chromium, installing Debian's package when it is missing and we may (root with apt-get),
 * as .ci/run does. Returns the reason instead of a path when neither works, so the browser tests
 * can skip saying why; they never pass without a browser.
 */
export async function ensureChromium(): Promise<{ path: string } | { missing: string }> {
  const existing = found();
  if (existing !== null) return { path: existing };
  const aptGet = ['/usr/bin/apt-get', '/bin/apt-get'].find((candidate) => existsSync(candidate));
  if (aptGet === undefined || process.getuid?.() !== 0) {
    return { missing: `no Chromium at ${CANDIDATES.join(', ')}, and apt-get is not usable here (need root)` };
  }
  try {
    await run(aptGet, ['update'], { timeout: 300_000 });
    await run(aptGet, ['install', '-y', 'chromium'], {
      timeout: 600_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch (error) {
    return { missing: `no Chromium, and apt-get install chromium failed: ${(error as Error).message}` };
  }
  const installed = found();
  return installed === null
    ? { missing: 'apt-get installed chromium, but no binary was found' }
    : { path: installed };
}

/** Newest modification time of the files under `dir` (0 when there are none). */
async function newest(dir: string): Promise<number> {
  if (!existsSync(dir)) return 0;
  let latest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/**
 * Builds the console when dist/console is missing or older than its sources, so the browser
 * tests always run the code in console/ (a stale bundle would test yesterday's page).
 */
export async function ensureConsoleBuilt(): Promise<void> {
  const built = path.join(ROOT, 'dist/console/index.html');
  const sources = await newest(path.join(ROOT, 'console'));
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
  const { build } = await import('vite');
  await build({ configFile: path.join(ROOT, 'console/vite.config.ts'), logLevel: 'warn' });
}

export interface TestBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** A headless Chromium with a fresh, empty profile, removed again on close. */
export async function launchBrowser(executablePath: string): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(tmpdir(), 'vigil-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    acceptDownloads: true,
    viewport: { width: 1400, height: 1000 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export async function artifactPath(name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}
