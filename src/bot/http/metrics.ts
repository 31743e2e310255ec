import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { OutboxTopicStats } from '../../storage/outbox-admin.repository.js';

/** Vigil's Prometheus metrics; one registry per server, so tests can run several in one process. */
export function createMetrics(
  collectOutbox: () => Promise<readonly OutboxTopicStats[]>,
  collectGraphPull: () => Promise<{ pulled: number; skipped: number }> = async () => ({
    pulled: 0,
    skipped: 0,
  }),
) {
  const registry = new Registry();
  // The outbox gauges share one query per scrape (prom-client collects them in parallel).
  let scrape: Promise<readonly OutboxTopicStats[]> | null = null;
  const outbox = () => {
    // While Postgres is away the gauges read zero rather than failing the whole scrape.
    scrape ??= collectOutbox()
      .catch(() => [])
      .finally(() => {
        setTimeout(() => {
          scrape = null;
        }, 100).unref();
      });
    return scrape;
  };
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
        this.set((await outbox()).reduce((sum, row) => sum + row.unfinished, 0));
      },
    }),
    outboxFailed: new Gauge({
      name: 'vigil_outbox_failed',
      help: 'Outbox rows given up on after their retries, by topic (vigil outbox replay sends them again)',
      labelNames: ['topic'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of await outbox()) this.set({ topic: row.topic }, row.failed);
      },
    }),
    outboxOldestDue: new Gauge({
      name: 'vigil_outbox_oldest_due_seconds',
      help: 'Seconds the longest-waiting unfinished outbox row has been due, by topic',
      labelNames: ['topic'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of await outbox()) this.set({ topic: row.topic }, row.oldestDueSeconds);
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
