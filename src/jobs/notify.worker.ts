import type PQueue from 'p-queue';
import { z } from 'zod';
import {
  type CardAlert,
  type CardIncident,
  type ChatChannel,
  ChatRateLimitedError,
  type LocalChannel,
  notify,
  PermanentChatError,
  type RemoteChannel,
} from '../domain/index.js';
import type { Logger } from '../logger.js';
import {
  type AlertForDelivery,
  alertsForDelivery,
  type DeliveredAlert,
} from '../storage/alert.repository.js';
import {
  type CardKey,
  type CardVersion,
  type ClaimedCard,
  claimCard,
  isBehind,
  type LocalCard,
  notePostAttempt,
  recordCardFailed,
  recordCardRendered,
  recordLocalCards,
  recordMessageRef,
  releaseCard,
} from '../storage/card.repository.js';
import type { DbHandle } from '../storage/db.js';
import { cardIncidentById, cardIncidentKey, cardIncidentsByIds } from '../storage/incident.repository.js';
import { cardInvestigations } from '../storage/investigation-view.repository.js';
import { appendOutbox, type PendingRow } from '../storage/outbox.repository.js';
import type { CardRow } from '../storage/schema.js';
import type { SharedRowOutcome } from './worker.js';

export const notifyPayload = z.object({
  alertId: z.uuid(),
  reason: z.enum(['created', 'occurred', 'status_changed', 'assigned', 'investigation', 'incident']),
});

/** How long a worker holds a card it renders before another may take it over. @defaultValue 30000 */
export const DEFAULT_CARD_LEASE_MS = 30_000;

export interface NotifyDeps {
  readonly handle: DbHandle;
  readonly channels: readonly ChatChannel[];
  readonly logger: Logger;
  /** Must exceed one chat call with its pacing (Slack's client times out after 10 s). */
  readonly cardLeaseMs: number;
  /** The process's alerts being rendered, across all its notify jobs, in the order they came. */
  readonly renders: PQueue;
}

const versionOf = (alert: DeliveredAlert): CardVersion => ({
  revision: alert.revision,
  incident: cardIncidentKey(alert.incident),
});

interface CardWork {
  readonly channel: ChatChannel;
  readonly target: string;
  readonly card: CardRow | undefined;
}

/** A card of a local channel one alert wants; the job writes them all together. */
interface LocalWork {
  readonly alert: CardAlert;
  readonly card: LocalCard;
  readonly channel: LocalChannel;
}

const keyOf = (card: CardKey): string => `${card.alertId}\n${card.platform}\n${card.target}`;

/**
 * Brings every card of each row's alert up to date on every platform: posts where there is none
 * yet, updates where the card shows an older revision or incident section (a sibling alert of its
 * incident changed), and does nothing where it is current. A row is one per alert however many
 * changes asked for it (the outbox coalesces them), and the job renders the state committed when
 * it runs. The alerts are read in one query, and the cards of local channels (the log) written in
 * one statement, for the whole job.
 *
 * No transaction is open while a platform is called: each remote card is claimed in one statement
 * (a lease), the platform is called, and the result is recorded only while the claim is still
 * ours. Alerts, and the targets of each, are handled independently: one that must wait (rate
 * limit, a claim held elsewhere) or fails does not hold back the others; its row says so.
 */
export async function deliverAlerts(
  deps: NotifyDeps,
  rows: readonly { readonly outboxId: string; readonly alertId: string }[],
  /** The rows as a caller holding them locked claimed them (local delivery); read otherwise. */
  claimed?: ReadonlyMap<string, PendingRow>,
): Promise<Map<string, SharedRowOutcome>> {
  const read = await alertsForDelivery(deps.handle.db, rows, claimed);
  // The incident sections of all the job's cards in one query (a Graph page's alerts share a few).
  const incidentIds = new Set<string>();
  for (const { delivery } of read.values())
    if (delivery?.alert.incidentId) incidentIds.add(delivery.alert.incidentId);
  const incidents = await cardIncidentsByIds(deps.handle.db, [...incidentIds]);
  const outcomes = new Map<string, SharedRowOutcome>();
  const local = new Map<string, LocalWork & { rows: string[] }>();
  const render = async (row: (typeof rows)[number]) => {
    const { job, delivery } = read.get(row.outboxId) ?? { job: null, delivery: null };
    if (job === null) {
      outcomes.set(row.outboxId, { kind: 'gone' });
      return;
    }
    try {
      // A silenced or deleted alert is never posted.
      if (delivery !== null) {
        for (const item of await deliverCards(deps, delivery, incidents)) {
          const key = keyOf(item.card);
          const seen = local.get(key);
          // One alert in two rows of the job (a delayed refresh beside a pending one): one write, the one read last.
          if (seen === undefined || seen.card.version.revision <= item.card.version.revision)
            local.set(key, { ...item, rows: [...(seen?.rows ?? []), row.outboxId] });
          else seen.rows.push(row.outboxId);
        }
      }
      outcomes.set(row.outboxId, { kind: 'done', job });
    } catch (error) {
      outcomes.set(
        row.outboxId,
        error instanceof ChatRateLimitedError
          ? { kind: 'wait', job, ms: error.retryAfterMs }
          : { kind: 'failed', job, error },
      );
    }
  };
  await Promise.all(rows.map((row) => deps.renders.add(() => render(row))));
  await recordLocal(deps, [...local.values()], outcomes);
  return outcomes;
}

/** Writes the local cards of a job in one statement; if that fails, so do the rows that wanted them. */
async function recordLocal(
  deps: NotifyDeps,
  items: readonly (LocalWork & { rows: readonly string[] })[],
  outcomes: Map<string, SharedRowOutcome>,
): Promise<void> {
  if (items.length === 0) return;
  try {
    const written = await recordLocalCards(
      deps.handle.db,
      items.map((item) => item.card),
    );
    const byKey = new Map(items.map((item) => [keyOf(item.card), item]));
    for (const card of written) {
      const item = byKey.get(keyOf(card));
      item?.channel.shown(item.alert, card.target, card.kind);
    }
  } catch (error) {
    for (const id of items.flatMap((item) => item.rows)) {
      const outcome = outcomes.get(id);
      if (outcome !== undefined && 'job' in outcome)
        outcomes.set(id, { kind: 'failed', job: outcome.job, error });
    }
  }
}

/**
 * Renders an alert's remote cards, and returns its local ones for the job to write together.
 * Throws ChatRateLimitedError (the shortest wait) if a card must wait, or the first failure.
 */
async function deliverCards(
  deps: NotifyDeps,
  delivery: AlertForDelivery,
  incidents: ReadonlyMap<string, CardIncident>,
): Promise<LocalWork[]> {
  const { handle, channels } = deps;
  const { alert: read, cards } = delivery;
  // Its incident section is part of what a card shows: siblings change it without touching this alert.
  // (Copies here only replace fields: see `deliveredAlert` for what adding them would cost.)
  const incident = read.incidentId === null ? null : (incidents.get(read.incidentId) ?? null);
  const shown: DeliveredAlert = incident === null ? read : { ...read, incident };
  // Targets follow from the alert's own fields (never its incident).
  const wanted: { channel: ChatChannel; target: string }[] = [];
  for (const channel of channels) {
    for (const target of await channel.targetsFor(shown)) wanted.push({ channel, target });
  }
  if (wanted.length === 0) return [];
  const version = versionOf(shown);
  const work: CardWork[] = wanted
    .map(({ channel, target }) => ({
      channel,
      target,
      card: cards.find((card) => card.platform === channel.platform && card.target === target),
    }))
    .filter(({ card }) => card === undefined || isBehind(card, version))
    // New cards first: in a storm every alert shows up before older cards are refreshed.
    .sort((a, b) => Number(hasMessage(a.card)) - Number(hasMessage(b.card)));
  if (work.length === 0) return [];
  // Investigations are read only for an alert that has one (most have none).
  const alert: DeliveredAlert = delivery.investigated
    ? { ...shown, investigations: await cardInvestigations(handle.db, shown.id) }
    : shown;

  const local: LocalWork[] = [];
  let waitMs: number | null = null;
  let failure: unknown = null;
  for (const { channel, target, card } of work) {
    if (channel.local === true) {
      local.push({
        alert,
        channel,
        card: { alertId: alert.id, platform: channel.platform, target, version },
      });
      continue;
    }
    try {
      await renderCard(deps, alert, { channel, target, card });
    } catch (error) {
      if (error instanceof ChatRateLimitedError)
        waitMs = Math.min(waitMs ?? error.retryAfterMs, error.retryAfterMs);
      else failure ??= error;
    }
  }
  // A failure retries the row with backoff; a wait only delays it. Cards done meanwhile are skipped then.
  if (failure !== null) throw failure;
  if (waitMs !== null) throw new ChatRateLimitedError(waitMs);
  return local;
}

const hasMessage = (card: CardRow | undefined): boolean => card?.message_ref != null;

/** A claim held by another worker: come back when its lease ends (it may have died mid-call). */
function heldElsewhere(card: CardRow | undefined): number | null {
  if (card?.lease_until == null) return null;
  const left = card.lease_until.getTime() - Date.now();
  return left > 0 ? left + 250 : null;
}

/** Renders one card: pace, claim, call the platform outside any transaction, record if still ours. */
async function renderCard(
  deps: NotifyDeps,
  alert: DeliveredAlert,
  item: CardWork & { readonly channel: RemoteChannel },
): Promise<void> {
  const { handle, logger, cardLeaseMs } = deps;
  const { channel, target } = item;
  const held = heldElsewhere(item.card);
  if (held !== null) throw new ChatRateLimitedError(held);
  const kind = hasMessage(item.card) ? 'update' : 'post';
  await channel.pace(kind, alert, target);
  const key = { alertId: alert.id, platform: channel.platform, target };
  const claimed = await claimCard(handle.db, key, versionOf(alert), cardLeaseMs);
  if ('busy' in claimed) {
    if (claimed.busy) throw new ChatRateLimitedError(1_000);
    return;
  }
  let current = alert;
  try {
    // Read again under the claim: a render that claims later never shows an older incident section.
    if (alert.incidentId !== null)
      current = { ...alert, incident: await cardIncidentById(handle.db, alert.incidentId) };
    const messageRef = await sendCard(deps, current, channel, target, claimed, kind);
    if (!(await recordCardRendered(handle.db, claimed, messageRef, versionOf(current)))) {
      logger.warn(
        { alertId: alert.id, platform: channel.platform, target },
        'card taken over while rendering',
      );
    }
  } catch (error) {
    if (error instanceof PermanentChatError) {
      logger.error(
        { alertId: alert.id, platform: channel.platform, target, platformError: error.platformError },
        'chat platform refused the card permanently; not retrying',
      );
      await recordCardFailed(handle.db, claimed, error.platformError, versionOf(current));
      return;
    }
    // A rate limit means the platform did not take the call; anything else may have gone through.
    await releaseCard(handle.db, claimed, error instanceof ChatRateLimitedError).catch((releaseError) =>
      logger.warn(
        { err: releaseError, cardId: claimed.card.id },
        'could not release a card; its lease will run out',
      ),
    );
    throw error;
  }
}

async function sendCard(
  deps: NotifyDeps,
  alert: CardAlert,
  channel: RemoteChannel,
  target: string,
  claimed: ClaimedCard,
  paced: 'post' | 'update',
): Promise<string> {
  const { handle } = deps;
  const existing = claimed.card.message_ref;
  if (existing !== null) {
    // The card got its message since we looked (another worker posted it): pace as an update.
    if (paced !== 'update') await channel.pace('update', alert, target);
    await channel.update(alert, target, existing);
    return existing;
  }
  if (paced !== 'post') await channel.pace('post', alert, target);
  const posted = await channel.post(alert, target, {
    cardId: claimed.card.id,
    earlierAttemptAt: claimed.card.post_attempted_at,
    sending: () => notePostAttempt(handle.db, claimed),
  });
  if (posted.found) {
    // An earlier attempt posted it but died before recording: keep that message, bring it current.
    await recordMessageRef(handle.db, claimed, posted.messageRef);
    deps.logger.info(
      { alertId: alert.id, platform: channel.platform, target },
      'found a card an earlier attempt posted; updating it instead of posting again',
    );
    await channel.pace('update', alert, target);
    await channel.update(alert, target, posted.messageRef);
  }
  return posted.messageRef;
}

/**
 * Schedules a card for open alerts stored before a platform was turned on: a platform this
 * install has not delivered to before gets every open alert that has no card on it yet. Runs at
 * worker start-up, once per platform (the first process to record the platform does it); each
 * alert costs one coalesced notify row, and alerts with no target there cost one cheap check.
 */
export async function scheduleForNewPlatforms(
  handle: DbHandle,
  platforms: readonly string[],
): Promise<number> {
  if (platforms.length === 0) return 0;
  return handle.db.transaction().execute(async (trx) => {
    const fresh = await trx
      .insertInto('notify_platforms')
      .values(platforms.map((platform) => ({ platform })))
      .onConflict((oc) => oc.column('platform').doNothing())
      .returning('platform')
      .execute();
    if (fresh.length === 0) return 0;
    const alerts = await trx
      .selectFrom('alerts')
      .select('id')
      .where('status', '<>', 'resolved')
      .where('muted', '=', false)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('cards')
              .select('cards.id')
              .whereRef('cards.alert_id', '=', 'alerts.id')
              .where(
                'cards.platform',
                'in',
                fresh.map((row) => row.platform),
              ),
          ),
        ),
      )
      .execute();
    // Chunks keep each statement well under Postgres's bind-parameter limit.
    for (let start = 0; start < alerts.length; start += 5_000) {
      await appendOutbox(
        trx,
        alerts.slice(start, start + 5_000).map((row) => notify(row.id, 'created')),
      );
    }
    return alerts.length;
  });
}
