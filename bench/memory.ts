import { readdir } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeSlackApi } from '../test/fakes/slack-api.js';
import { eventually } from '../test/helpers/harness.js';
import { commandBody, slackHeaders } from '../test/helpers/slack-signing.js';
import { memoryMb, post, resetPeakMemory, runIfMain, startBenchVigil } from './lib.js';
import { seedRemediations } from './remediation.js';

const INGEST = 'bench-ingest-token-0123456789';
const API = 'bench-api-token-0123456789abcdef';
const SECRET = 'bench-signing-secret';
const ADMIN = 'U0MEMORY';
const ROWS = 100_000;
/** The V8 flag docs/operations.md gives `vigil web` (a smaller young generation). */
const WEB_FLAGS = '--max-semi-space-size=4';
/** Long enough for start-up garbage to be collected and the pools to settle. */
const SETTLE_MS = 5_000;

/**
 * Memory of `vigil web` (issue 16; targets: idle under 100 MB RSS, the 100,000-row remediation CSV
 * export under 150 MB peak), one process (VIGIL_WEB_PROCESSES=1) from dist/cli.js, read from
 * /proc: idle RSS with no chat platform (V8's defaults, then with the flag docs/operations.md starts
 * `vigil web` with, as every later figure) and with Slack and Teams on; then the peak (VmHWM, reset
 * first) while GET /api/remediations.csv streams 100,000 rows, and while `/vigil remediations
 * export` uploads them to the fake Slack. Run alone: `npx tsx bench/memory.ts`.
 */
export async function benchMemory(): Promise<void> {
  console.log(
    `\n## Memory (vigil web, one process; targets: idle < 100 MB RSS, ${ROWS} rows exported < 150 MB peak)`,
  );
  const fake = await new FakeSlackApi().start();
  try {
    await idle('no chat platform', {});
    // As docs/operations.md's unit starts the web processes.
    await idle(`no chat platform, ${WEB_FLAGS}`, { NODE_OPTIONS: WEB_FLAGS });
    const vigil = await startBenchVigil(
      'memory',
      {
        VIGIL_INGEST_TOKEN: INGEST,
        VIGIL_API_TOKEN: API,
        VIGIL_WEB_PROCESSES: '1',
        SLACK_BOT_TOKEN: 'xoxb-bench',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: fake.url,
        VIGIL_ADMINS: `slack:${ADMIN}`,
        VIGIL_TEAMS_DEV: '1',
        NODE_OPTIONS: WEB_FLAGS,
      },
      'web',
    );
    const pid = vigil.child.pid as number;
    try {
      await sleep(SETTLE_MS);
      report(`idle, Slack and Teams on, ${WEB_FLAGS}`, pid);
      await seedRemediations(vigil.schema, ROWS);

      resetPeakMemory(pid);
      const bytes = await download(`${vigil.url}/api/remediations.csv?view=all`);
      console.log(
        `GET /api/remediations.csv (${(bytes / 1024 / 1024).toFixed(1)} MiB): peak RSS ${memoryMb(pid, 'VmHWM').toFixed(0)} MB`,
      );

      await sleep(SETTLE_MS);
      const exportFiles = async () =>
        (await readdir(tmpdir())).filter((name) => name.startsWith('vigil-export-'));
      const earlier = await exportFiles();
      resetPeakMemory(pid);
      const body = commandBody({
        team_id: 'T0',
        channel_id: 'C0MEMORY',
        user_id: ADMIN,
        user_name: 'bench',
        command: '/vigil',
        text: 'remediations export',
        response_url: `${fake.url}response`,
        trigger_id: 't',
      });
      const answer = await post(
        `${vigil.url}/slack/events`,
        body,
        slackHeaders(SECRET, body, 'application/x-www-form-urlencoded'),
      );
      if (answer.status !== 200) throw new Error(`the slash command answered ${answer.status}`);
      const done = await eventually(
        async () => fake.callsOf('files.completeUploadExternal')[0],
        300_000,
        'files.completeUploadExternal',
      );
      // The export's temporary file goes once the upload is complete; stopping sooner would leave it.
      await eventually(
        async () => (await exportFiles()).every((name) => earlier.includes(name)),
        10_000,
        'the export file removed',
      );
      const file = [...fake.files.values()][0];
      console.log(
        `/vigil remediations export to Slack (${((file?.bytes?.length ?? 0) / 1024 / 1024).toFixed(1)} MiB, ${done.args.channel_id}): peak RSS ${memoryMb(pid, 'VmHWM').toFixed(0)} MB`,
      );
    } finally {
      await vigil.stop();
    }
  } finally {
    await fake.stop();
  }
}

function report(what: string, pid: number): void {
  console.log(
    `${what}: RSS ${memoryMb(pid, 'VmRSS').toFixed(0)} MB (peak since start ${memoryMb(pid, 'VmHWM').toFixed(0)} MB)`,
  );
}

/** Idle RSS of a fresh `vigil web` with `env`. */
async function idle(what: string, env: Record<string, string>): Promise<void> {
  const vigil = await startBenchVigil(
    'memory',
    { VIGIL_INGEST_TOKEN: INGEST, VIGIL_API_TOKEN: API, VIGIL_WEB_PROCESSES: '1', ...env },
    'web',
  );
  try {
    await sleep(SETTLE_MS);
    report(`idle, ${what}`, vigil.child.pid as number);
  } finally {
    await vigil.stop();
  }
}

/** Reads a whole answer over loopback without keeping it; resolves with its length in bytes. */
function download(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { authorization: `Bearer ${API}` } }, (response) => {
        if (response.statusCode !== 200) reject(new Error(`${url} answered ${response.statusCode}`));
        let bytes = 0;
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        response.on('end', () => resolve(bytes));
        response.on('error', reject);
      })
      .on('error', reject);
  });
}

runIfMain(import.meta.url, benchMemory);
