/**
 * Storm benchmark: 100 alerts/s for 60 s over 200 fingerprints routed to 20 Slack channels,
 * against two `vigil web` and two `vigil worker` processes with default settings, while a worker
 * and a web process are killed (-9) and replaced, Redis is killed and started again empty and
 * every Vigil connection to Postgres is terminated. Prints how long until every alert has its
 * card and every card is current (from the storm's end), ingest latency during the faults, lost
 * alerts and duplicate cards. Target: every card within 60 s of the storm's end, none lost, no
 * duplicates. Every card becoming current takes at least 200 × 1.2 s after the storm (Slack's
 * workspace-wide chat.update pace), hence the long wait. Run alone: `npm run build && npx tsx bench/storm.ts`.
 */
import { type StormOptions, StormRig } from '../test/helpers/storm.js';
import { fmt, runIfMain } from './lib.js';

const seconds = (ms: number | null) => (ms === null ? 'never' : `${(ms / 1000).toFixed(1)} s`);

export async function benchStorm(options: Partial<StormOptions> = {}): Promise<void> {
  const rig = new StormRig({
    fingerprints: 200,
    channels: 20,
    ratePerSecond: 100,
    seconds: 60,
    settleTimeoutMs: 480_000,
    ...options,
  });
  try {
    await rig.start();
    const report = await rig.run();
    const { problems } = report;
    console.log(
      [
        `\n## Storm (${report.sent} alerts at ${rig.options.ratePerSecond}/s, ${rig.options.fingerprints} fingerprints, ${rig.options.channels} channels; kill -9 of a worker and a web process, Redis wiped, Postgres connections terminated)`,
        `accepted ${report.accepted}, not accepted ${report.notAccepted}, ${report.alerts} alerts stored`,
        `ingest during the faults: p50 ${fmt(report.ingestMs.p50)}, p99 ${fmt(report.ingestMs.p99)}, max ${fmt(report.ingestMs.max)}`,
        `every alert has its card: ${seconds(report.allPostedAfterMs)} after the storm; every card current: ${seconds(report.allCurrentAfterMs)}`,
        `occurrences lost: ${report.lostOccurrences}; duplicate cards: ${report.duplicateCards}`,
        `time between two cards in one channel: min ${fmt(report.cardGapsMs.min)}, p1 ${fmt(report.cardGapsMs.p1)}, p50 ${fmt(report.cardGapsMs.p50)}`,
        ...Object.entries(problems).map(
          ([check, found]) =>
            `${check}: ${found.length === 0 ? 'held' : `${found.length} problems, e.g. ${found.slice(0, 3).join('; ')}`}`,
        ),
        ...report.timeline.map((line) => `  ${line}`),
      ].join('\n'),
    );
    if (problems.exits.length > 0) console.log(rig.diagnostics());
  } finally {
    await rig.close();
  }
}

runIfMain(import.meta.url, benchStorm);
