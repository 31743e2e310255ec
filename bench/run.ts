import { benchCards } from './cards.js';
import { benchCommandCost } from './command-cost.js';
import { benchCrossPlatform } from './cross-platform.js';
import { benchGraph } from './graph.js';
import { benchIngest } from './ingest.js';
import { benchIngestQueries } from './ingest-queries.js';
import { benchIngestWrk } from './ingest-wrk.js';
import { benchInvestigationList } from './investigation-list.js';
import { benchInvestigations } from './investigations.js';
import { benchMemory } from './memory.js';
import { benchPolicies } from './policies.js';
import { benchRemediationCsv, benchTickets } from './remediation.js';
import { benchRemediationNotices } from './remediation-notices.js';
import { benchSlack } from './slack.js';
import { benchStorm } from './storm.js';
import { benchTeams } from './teams.js';

/** `npm run bench`: every benchmark in turn, each printing its own figures. `BENCH_PROFILE=1` writes CPU profiles of the Vigil processes to /tmp/prof. */
for (const run of [
  benchIngestWrk,
  benchIngestQueries,
  benchIngest,
  benchSlack,
  benchCards,
  benchCommandCost,
  benchTeams,
  benchCrossPlatform,
  benchRemediationCsv,
  benchTickets,
  benchRemediationNotices,
  benchMemory,
  benchInvestigations,
  benchInvestigationList,
  benchPolicies,
  benchGraph,
  benchStorm,
]) {
  await run();
}
process.exit(0);
