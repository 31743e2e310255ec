import { benchCards } from './cards.js';
import { benchCrossPlatform } from './cross-platform.js';
import { benchGraph } from './graph.js';
import { benchIngest } from './ingest.js';
import { benchIngestQueries } from './ingest-queries.js';
import { benchIngestWrk } from './ingest-wrk.js';
import { benchInvestigationList } from './investigation-list.js';
import { benchInvestigations } from './investigations.js';
import { benchPolicies } from './policies.js';
import { benchRemediationCsv, benchTickets } from './remediation.js';
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
  benchTeams,
  benchCrossPlatform,
  benchRemediationCsv,
  benchTickets,
  benchInvestigations,
  benchInvestigationList,
  benchPolicies,
  benchGraph,
  benchStorm,
]) {
  await run();
}
process.exit(0);
