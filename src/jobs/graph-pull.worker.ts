import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Job } from 'bullmq';
import { z } from 'zod';
import { type GraphAlert, parseGraphAlert } from '../bot/http/ingest/graph.js';
import type { Clock } from '../domain/index.js';
import { RetriesExhaustedError } from '../integrations/http-retry.js';
import { pulledAlert, readableDate } from '../integrations/microsoft/graph-alerts.js';
import type { GraphApi } from '../integrations/microsoft/graph-api.js';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import {
  ALERTS_STREAM,
  applyPulledPage,
  claimPull,
  lastApplied,
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

/**
 * One pull: claims the lease (short transaction), then reads `alerts_v2` page by page, from the
 * stored nextLink of an unfinished chain or else from the watermark less the overlap, and
 * commits each page with its position (see `applyPulledPage`) before asking for the next. No
 * transaction is open while Graph is called. alerts_v2 has no `$orderby`, so the watermark moves
 * only when a whole chain is committed, to the time that chain began.
 */
export async function pullAlerts(deps: GraphPullDeps, signal: AbortSignal): Promise<PullOutcome> {
  const { handle, clock, logger, owner } = deps;
  const leaseMs = deps.leaseMs ?? 5 * 60_000;
  const position = await claimPull(handle, ALERTS_STREAM, owner, leaseMs, clock);
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
      const since = new Date(
        (position.watermark?.getTime() ?? chainUntil.getTime() - FIRST_PULL_LOOKBACK_MS) - PULL_OVERLAP_MS,
      );
      link = `/security/alerts_v2?$filter=${encodeURIComponent(`lastUpdateDateTime ge ${since.toISOString()}`)}&$top=${deps.pageSize ?? PULL_PAGE_SIZE}`;
    }
    for (;;) {
      const page = await deps.graph.page(link, signal);
      const receivedAt = clock.now();
      const valid: GraphAlert[] = [];
      let skipped = 0;
      for (const [index, item] of page.value.entries()) {
        const parsed = parseGraphAlert(item);
        if (parsed.ok) {
          valid.push(parsed.alert);
          continue;
        }
        skipped += 1;
        deps.onSkipped?.(parsed.reason);
        logger.warn({ page: pages, index, reason: parsed.reason }, 'skipped a malformed Graph alert');
      }
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
      const next = page['@odata.nextLink'] ?? null;
      await applyPulledPage(
        handle,
        ALERTS_STREAM,
        pulled,
        { owner, leaseMs, nextLink: next, chainUntil, pulled: valid.length, skipped },
        clock,
      );
      pages += 1;
      items += valid.length;
      skippedTotal += skipped;
      if (next === null) break;
      link = next;
    }
    return { kind: 'pulled', pages, items, skipped: skippedTotal };
  } catch (caught) {
    error = caught instanceof Error ? caught.message : String(caught);
    throw caught;
  } finally {
    await releasePull(handle.db, ALERTS_STREAM, owner, error);
  }
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
  } catch (error) {
    if (error instanceof RetriesExhaustedError && error.retryAfterMs !== null)
      waitMs = Math.max(waitMs, error.retryAfterMs);
    logger.warn({ err: error }, 'pulling alerts from Microsoft Graph failed; will try again');
  }
  await schedulePull(deps.handle, new Date(clock.now().getTime() + waitMs), job.data.outboxId);
}
