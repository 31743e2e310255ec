import { memoryMb, post, runIfMain, startBenchVigil } from './lib.js';

const INGEST = 'bench-ingest-token-0123456789';
const WARM_UP = 500;
const ALERTS = 4_000;
const CONCURRENCY = 16;
/** The flag docs/operations.md starts `vigil web` with. */
const WEB_FLAGS = '--max-semi-space-size=4';

/**
 * What the web processes' V8 flag costs ingest: CPU ms per alert of `vigil web` (one process, read
 * by bench/vigil-probe.mjs) over 4,000 alerts POSTed 16 at a time after a warm-up, with V8's
 * defaults and with the flag, twice each alternately (the machine is shared), and the RSS after.
 * Run alone: `npx tsx bench/web-flags.ts`.
 */
export async function benchWebFlags(): Promise<void> {
  console.log(`\n## vigil web with and without ${WEB_FLAGS} (${ALERTS} alerts, ${CONCURRENCY} at a time)`);
  for (const flags of ['', WEB_FLAGS, '', WEB_FLAGS]) {
    const vigil = await startBenchVigil(
      'webflags',
      {
        VIGIL_INGEST_TOKEN: INGEST,
        VIGIL_WEB_PROCESSES: '1',
        VIGIL_INGEST_RATE_LIMIT: '1000000',
        ...(flags === '' ? {} : { NODE_OPTIONS: flags }),
      },
      'web',
      { probe: true },
    );
    try {
      const ingest = async (from: number, count: number) => {
        let next = from;
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            for (let i = next++; i < from + count; i = next++) {
              const body = JSON.stringify({
                title: `Flags ${i}`,
                severity: 'high',
                source: 'bench',
                id: `f-${i}`,
                entities: [{ kind: 'device', id: `host-${i % 50}` }],
              });
              const answer = await post(`${vigil.url}/ingest/generic`, body, {
                authorization: `Bearer ${INGEST}`,
              });
              if (answer.status !== 202) throw new Error(`ingest answered ${answer.status}`);
            }
          }),
        );
      };
      await ingest(0, WARM_UP);
      const before = await vigil.probe();
      await ingest(WARM_UP, ALERTS);
      const after = await vigil.probe();
      const pid = vigil.child.pid as number;
      console.log(
        `${flags || 'V8 defaults'}: ${((after.cpuMs - before.cpuMs) / ALERTS).toFixed(3)} CPU ms per alert; RSS ${memoryMb(pid, 'VmRSS').toFixed(0)} MB (peak ${memoryMb(pid, 'VmHWM').toFixed(0)} MB)`,
      );
    } finally {
      await vigil.stop();
    }
  }
}

runIfMain(import.meta.url, benchWebFlags);
