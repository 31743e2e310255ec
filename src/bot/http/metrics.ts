import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Vigil's Prometheus metrics; one registry per server, so tests can run several in one process. */
export function createMetrics(
  collectPending: () => Promise<number>,
  collectGraphPull: () => Promise<{ pulled: number; skipped: number }> = async () => ({
    pulled: 0,
    skipped: 0,
  }),
) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vigil_' });
  return {
    registry,
    ingested: new Counter({
      name: 'vigil_ingest_alerts_total',
      help: 'Alert occurrences stored, by format and whether they were duplicates of an open alert',
      labelNames: ['format', 'duplicate'] as const,
      registers: [registry],
    }),
    ingestRejected: new Counter({
      name: 'vigil_ingest_rejected_total',
      help: 'Ingest requests refused, by format and reason',
      labelNames: ['format', 'reason'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'vigil_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    outboxPending: new Gauge({
      name: 'vigil_outbox_unfinished',
      help: 'Outbox rows whose work is not finished yet',
      registers: [registry],
      async collect() {
        this.set(await collectPending());
      },
    }),
    // Read from Postgres: the pull runs in whichever worker process holds its lease, not in this one.
    graphPulled: new Counter({
      name: 'vigil_graph_pull_alerts_total',
      help: 'Alerts read by the Microsoft Graph pull since the install began',
      registers: [registry],
      async collect() {
        this.reset();
        this.inc((await collectGraphPull()).pulled);
      },
    }),
    graphSkipped: new Counter({
      name: 'vigil_graph_pull_skipped_total',
      help: 'Malformed items the Microsoft Graph pull skipped since the install began (reasons in the log)',
      registers: [registry],
      async collect() {
        this.reset();
        this.inc((await collectGraphPull()).skipped);
      },
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
