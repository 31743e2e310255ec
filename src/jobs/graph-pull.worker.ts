import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Job } from 'bullmq';
import { z } from 'zod';
import { type GraphAlert, parseGraphAlert } from '../bot/http/ingest/graph.js';
import type { Clock } from '../domain/index.js';
import { RetriesExhaustedError } from '../integrations/http-retry.js';
import { pulledAlert, readableDate } from '../integrations/microsoft/graph-alerts.js';
import type { GraphApi } from '../integrations/microsoft/graph-api.js';
import { type PulledIncident, parseGraphIncident } from '../integrations/microsoft/graph-incidents.js';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import {
  ALERTS_STREAM,
  applyIncidentPage,
  applyPulledPage,
  claimPull,
  INCIDENTS_STREAM,
  lastApplied,
  type PageRecord,
  releasePull,
  schedulePull,
} from '../storage/graph-sync.repository.js';
import type { OutboxJobData } from './queues.js';

export const graphPullPayload = z.object({});

/**
 * Windows overlap by this much: the next chain asks for alerts updated since the last chain
 * began, less five minutes. That margin is the clock skew accepted between Vigil and Microsoft
 * (Vigil's clock may run up to five minutes ahead of Graph's `lastUpdateDateTime` without an
 * update being missed), and it also covers alerts that Graph lists a little after their update
 * time. Alerts seen twice are recognised by their `lastUpdateDateTime` and change nothing.
 */
export const PULL_OVERLAP_MS = 5 * 60_000;
/** How far back the very first pull of an install looks. */
export const FIRST_PULL_LOOKBACK_MS = 24 * 60 * 60_000;
/** alerts_v2 pages: Graph's maximum `$top`. */
export const PULL_PAGE_SIZE = 2_000;

export interface GraphPullDeps {
  readonly handle: DbHandle;
  readonly graph: GraphApi;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Between the end of one pull and the start of the next. */
  readonly pollMs: number;
  /** How long one runner holds the pull; renewed with every committed page. @defaultValue 5 min */
  readonly leaseMs?: number;
  /** This process, as the lease names it. */
  readonly owner: string;
  /** @defaultValue PULL_PAGE_SIZE */
  readonly pageSize?: number;
  /** Malformed items skipped (also counted in Postgres for /metrics). */
  readonly onSkipped?: (reason: string) => void;
}

/** This process, as leases name it (the pull's, an alert's write-back). */
export const processOwner = (): string => `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

export type PullOutcome =
  | { readonly kind: 'busy' }
  | { readonly kind: 'pulled'; readonly pages: number; readonly items: number; readonly skipped: number };

/** What one page's application did: items read (valid) and skipped (malformed). */
interface PageCount {
  readonly items: number;
  readonly skipped: number;
}

/**
 * One chain of one stream: claims the stream's lease (short transaction), then reads page by
 * page, from the stored nextLink of an unfinished chain or else from the watermark less the
 * overlap, and has `apply` commit each page with its position, in order, while the next page is
 * read; a page that fails to commit stops the chain there. No transaction waits on Graph. Graph's security lists have no `$orderby`, so the
 * watermark moves only when a whole chain is committed, to the time that chain began.
 */
async function pullChain(
  deps: GraphPullDeps,
  stream: string,
  firstLink: (since: Date) => string,
  apply: (items: readonly unknown[], position: Omit<PageRecord, 'pulled' | 'skipped'>) => Promise<PageCount>,
  signal: AbortSignal,
): Promise<PullOutcome> {
  const { handle, clock, owner } = deps;
  const leaseMs = deps.leaseMs ?? 5 * 60_000;
  const position = await claimPull(handle, stream, owner, leaseMs, clock);
  if (position === null) return { kind: 'busy' };
  let error: string | null = null;
  let pages = 0;
  let items = 0;
  let skippedTotal = 0;
  try {
    let link = position.nextLink;
    let chainUntil = position.chainUntil;
    if (link === null || chainUntil === null) {
      chainUntil = clock.now();
      link = firstLink(
        new Date(
          (position.watermark?.getTime() ?? chainUntil.getTime() - FIRST_PULL_LOOKBACK_MS) - PULL_OVERLAP_MS,
        ),
      );
    }
    let reading = deps.graph.page(link, signal);
    for (;;) {
      const page = await reading;
      const next = page['@odata.nextLink'] ?? null;
      // The next page is read while this one is written (no transaction waits on Graph), so a
      // page costs the slower of the two rather than their sum; it is dropped if this one fails.
      if (next !== null) {
        reading = deps.graph.page(next, signal);
        reading.catch(() => {});
      }
      const counted = await apply(page.value, { owner, leaseMs, nextLink: next, chainUntil });
      pages += 1;
      items += counted.items;
      skippedTotal += counted.skipped;
      if (next === null) break;
    }
    return { kind: 'pulled', pages, items, skipped: skippedTotal };
  } catch (caught) {
    error = caught instanceof Error ? caught.message : String(caught);
    throw caught;
  } finally {
    await releasePull(handle.db, stream, owner, error);
  }
}

const sinceFilter = (since: Date) => encodeURIComponent(`lastUpdateDateTime ge ${since.toISOString()}`);

/**
 * One pull of `alerts_v2` (see `pullChain`): malformed items are skipped with the reason in
 * the log; only alerts updated since last applied are mapped, then synced (see `applyPulledPage`).
 */
export async function pullAlerts(deps: GraphPullDeps, signal: AbortSignal): Promise<PullOutcome> {
  const { handle, clock, logger } = deps;
  let pageNumber = 0;
  return pullChain(
    deps,
    ALERTS_STREAM,
    (since) => `/security/alerts_v2?$filter=${sinceFilter(since)}&$top=${deps.pageSize ?? PULL_PAGE_SIZE}`,
    async (items, position) => {
      const receivedAt = clock.now();
      const valid: GraphAlert[] = [];
      let skipped = 0;
      for (const [index, item] of items.entries()) {
        const parsed = parseGraphAlert(item);
        if (parsed.ok) {
          valid.push(parsed.alert);
          continue;
        }
        skipped += 1;
        deps.onSkipped?.(parsed.reason);
        logger.warn({ page: pageNumber, index, reason: parsed.reason }, 'skipped a malformed Graph alert');
      }
      pageNumber += 1;
      // Overlapping windows list many alerts again: only those updated since are mapped and synced.
      const applied = await lastApplied(
        handle.db,
        valid.map((alert) => alert.id),
      );
      const pulled = valid
        .map((alert) => ({ alert, lastUpdate: readableDate(alert.lastUpdateDateTime) }))
        .filter(({ alert, lastUpdate }) => {
          const known = applied.get(alert.id);
          return known === undefined || known === null || lastUpdate === null || lastUpdate > known;
        })
        .map(({ alert }) => pulledAlert(alert, receivedAt));
      await applyPulledPage(
        handle,
        ALERTS_STREAM,
        pulled,
        { ...position, pulled: valid.length, skipped },
        clock,
      );
      return { items: valid.length, skipped };
    },
    signal,
  );
}

/** Incidents per page: Graph's maximum `$top` for `/security/incidents`. */
export const INCIDENT_PAGE_SIZE = 50;

/**
 * One pull of `/security/incidents` with their alerts (`$expand=alerts`), in the same way:
 * incidents are created or brought up to date, and the Vigil alerts of their alerts join them.
 */
export async function pullIncidents(deps: GraphPullDeps, signal: AbortSignal): Promise<PullOutcome> {
  const { handle, clock, logger } = deps;
  return pullChain(
    deps,
    INCIDENTS_STREAM,
    (since) => `/security/incidents?$filter=${sinceFilter(since)}&$expand=alerts&$top=${INCIDENT_PAGE_SIZE}`,
    async (items, position) => {
      const valid: PulledIncident[] = [];
      let skipped = 0;
      for (const [index, item] of items.entries()) {
        const parsed = parseGraphIncident(item);
        if (parsed.ok) {
          valid.push(parsed.incident);
          continue;
        }
        skipped += 1;
        deps.onSkipped?.(parsed.reason);
        logger.warn({ index, reason: parsed.reason }, 'skipped a malformed Graph incident');
      }
      await applyIncidentPage(
        handle,
        INCIDENTS_STREAM,
        valid,
        { ...position, pulled: valid.length, skipped },
        clock,
      );
      return { items: valid.length, skipped };
    },
    signal,
  );
}

/**
 * The `graph_pull` job: pulls, then puts the next pull in the outbox (`pollMs` later, or when a
 * throttled Graph said to come back). A failed pull (Graph or the token endpoint down,
 * throttled past patience) is logged and tried again at the next turn, from where it stopped:
 * the chain of pulls is never dropped, and there is one chain, whatever the number of processes.
 */
export async function runGraphPull(deps: GraphPullDeps, job: Job<OutboxJobData>): Promise<void> {
  const { logger, clock } = deps;
  let waitMs = deps.pollMs;
  try {
    const outcome = await pullAlerts(deps, AbortSignal.timeout(deps.leaseMs ?? 5 * 60_000));
    if (outcome.kind === 'pulled' && outcome.items + outcome.skipped > 0)
      logger.info(outcome, 'pulled alerts from Microsoft Graph');
    // Incidents after alerts, so the alerts they list are mostly stored already (the rest join at ingest).
    const incidents = await pullIncidents(deps, AbortSignal.timeout(deps.leaseMs ?? 5 * 60_000));
    if (incidents.kind === 'pulled' && incidents.items + incidents.skipped > 0)
      logger.info(incidents, 'pulled incidents from Microsoft Graph');
  } catch (error) {
    if (error instanceof RetriesExhaustedError && error.retryAfterMs !== null)
      waitMs = Math.max(waitMs, error.retryAfterMs);
    logger.warn({ err: error }, 'pulling alerts or incidents from Microsoft Graph failed; will try again');
  }
  await schedulePull(deps.handle, new Date(clock.now().getTime() + waitMs), job.data.outboxId);
}
