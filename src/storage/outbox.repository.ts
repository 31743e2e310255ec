import { sql } from 'kysely';
import type { OutboxMessage } from '../domain/index.js';
import { json } from './alert.mapper.js';
import { type Db, named, prepared } from './db.js';

export const outboxChannel = (schema: string): string => `vigil_outbox_${schema}`;

/**
 * The key under which pending rows of a message coalesce: one pending card refresh per alert,
 * however many occurrences, status changes or investigation steps asked for it. Delayed messages
 * keep their own rows (each is due at its own time).
 */
const dedupeKeyOf = (message: OutboxMessage): string | null =>
  message.topic === 'notify' && message.availableAt === undefined
    ? `${NOTIFY_KEY_PREFIX}${message.payload.alertId}`
    : null;

/** The dedupe key of an alert's pending card refresh is this and the alert's ID. */
export const NOTIFY_KEY_PREFIX = 'notify:';

/**
 * How an insert into the outbox folds a message into the pending row of its key (see
 * `appendOutbox`); for statements that write outbox rows in SQL of their own.
 */
export const OUTBOX_FOLD = `ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL AND completed_at IS NULL AND failed_at IS NULL
  DO UPDATE SET requested = outbox.requested + 1,
    payload = CASE WHEN excluded.payload->>'reason' = 'created' THEN excluded.payload ELSE outbox.payload END`;

/**
 * Writes outbox rows inside the caller's transaction, in one statement. A message whose key is
 * already pending is folded into that row (its `requested` count rises, so a job already running
 * for it goes round once more) instead of adding a row and a job. A new card asked for while only
 * a refresh was pending makes the row a `created` one, so it keeps the priority of new cards.
 * A trigger (outbox_notify) wakes the relays when it commits; a rolled-back change wakes no one.
 */
export async function appendOutbox(trx: Db, messages: readonly OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  const rows = foldable(messages).map(({ key, message }, ord) => ({
    ord,
    topic: message.topic,
    payload: message.payload,
    key,
    availableAt: message.availableAt ?? null,
  }));
  await trx.executeQuery(insertOutbox(JSON.stringify(rows)));
}

/**
 * `appendOutbox`'s rows as a Kysely statement, for a change that writes its outbox rows in its own
 * statement (as a CTE beside `withAudit`'s). `messages` must not be empty.
 */
export function outboxInsert(db: Db, messages: readonly OutboxMessage[]) {
  return db
    .insertInto('outbox')
    .values(
      foldable(messages).map(({ key, message }) => ({
        topic: message.topic,
        payload: json(message.payload),
        dedupe_key: key,
        ...(message.availableAt === undefined ? {} : { available_at: message.availableAt }),
      })),
    )
    .onConflict((oc) =>
      oc
        .column('dedupe_key')
        .where('dedupe_key', 'is not', null)
        .where('completed_at', 'is', null)
        .where('failed_at', 'is', null)
        .doUpdateSet({
          requested: sql`outbox.requested + 1`,
          payload: sql`CASE WHEN excluded.payload->>'reason' = 'created' THEN excluded.payload ELSE outbox.payload END`,
        }),
    );
}

/**
 * The messages as one statement may write them: one per key (a statement may not fold two rows
 * into the same pending row; a `created` one wins), keyed ones first in key order, so concurrent
 * writers fold into pending rows in one order and cannot deadlock.
 */
function foldable(messages: readonly OutboxMessage[]): { key: string | null; message: OutboxMessage }[] {
  const byKey = new Map<string, OutboxMessage>();
  const plain: OutboxMessage[] = [];
  for (const message of messages) {
    const key = dedupeKeyOf(message);
    if (key === null) plain.push(message);
    else if (!byKey.has(key) || (message.payload as { reason?: string }).reason === 'created')
      byKey.set(key, message);
  }
  const keyed = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  return [
    ...keyed.map(([key, message]) => ({ key, message })),
    ...plain.map((message) => ({ key: null, message })),
  ];
}

/** One statement text for any number of rows (see `prepared`), written in the order given. */
const insertOutbox = prepared(
  'vigil_append_outbox',
  `INSERT INTO outbox (topic, payload, dedupe_key, available_at)
  SELECT m.topic, m.payload, m.key, coalesce(m."availableAt", now())
  FROM json_to_recordset($1::json) AS m(ord int, topic text, payload jsonb, key text, "availableAt" timestamptz)
  ORDER BY m.ord
  ${OUTBOX_FOLD}`,
);

export interface OutboxRow {
  readonly id: string;
  readonly topic: string;
  readonly payload: Record<string, unknown>;
}

/** A row as the relay hands it over: with the job it shares, or null for a job of its own. */
export interface RelayedRow extends OutboxRow {
  readonly jobId: string | null;
}

/** Which rows share jobs: rows of these topics, of one topic and reason, up to `most` a job. */
export interface JobSharing {
  readonly topics: readonly string[];
  readonly most: number;
  /** Starts the IDs of this pass's shared jobs; each ends with its first row's ID. */
  readonly jobIdPrefix: string;
  /** Notify rows stay where they are: the relay delivers them itself (local delivery). */
  readonly keepNotify: boolean;
}

/**
 * The claim of `relayPending`, prepared (it runs at every relay pass), in two texts: one for every
 * topic, and one that leaves notify rows alone, which reads the partial index
 * `outbox_pending_queued` of the other topics' rows (a few) instead of walking every pending card
 * refresh of a storm at every pass. $1 limit, $2 topics that share jobs, $3 rows a shared job, $4
 * the shared jobs' ID prefix.
 */
const relayClaim = (keepNotify: boolean) =>
  prepared(
    keepNotify ? 'vigil_outbox_relay_queued' : 'vigil_outbox_relay',
    `WITH picked AS (
      SELECT id, topic, payload->>'reason' AS reason FROM outbox
      WHERE enqueued_at IS NULL AND available_at <= now()${keepNotify ? ` AND topic <> 'notify'` : ''}
      ORDER BY id LIMIT $1
      FOR UPDATE SKIP LOCKED
    ), chunked AS (
      SELECT id, topic, reason,
        (row_number() OVER (PARTITION BY topic, reason ORDER BY id) - 1) / $3 AS chunk
      FROM picked WHERE topic = ANY($2::text[])
    ), shared AS (
      SELECT id, count(*) OVER job AS rows, min(id) OVER job AS first
      FROM chunked WINDOW job AS (PARTITION BY topic, reason, chunk)
    )
    UPDATE outbox SET enqueued_at = now(),
      job_id = CASE WHEN shared.rows > 1 THEN $4::text || shared.first::text END
    FROM picked LEFT JOIN shared USING (id)
    WHERE outbox.id = picked.id
    RETURNING outbox.id, outbox.topic, outbox.payload, outbox.job_id AS "jobId"`,
  );
const relayAll = relayClaim(false);
const relayQueued = relayClaim(true);

/**
 * Claims a batch of rows not yet handed to the queue (marks them enqueued in one statement,
 * SKIP LOCKED so concurrent relays never take the same row) and hands them over with `enqueue`,
 * outside any transaction: Redis is never called with a transaction open. The same statement
 * groups the rows that share a job and records that job on them (`job_id`), for the re-drive. If
 * the hand-over fails the rows are un-marked for the next pass; if the process dies in between,
 * the re-drive finds rows marked enqueued whose job does not exist and sends them back.
 */
export async function relayPending(
  db: Db,
  limit: number,
  sharing: JobSharing,
  enqueue: (rows: readonly RelayedRow[]) => Promise<void>,
): Promise<number> {
  const claim = sharing.keepNotify ? relayQueued : relayAll;
  const { rows: claimed } = await db.executeQuery<RelayedRow>(
    claim(limit, sharing.topics, sharing.most, sharing.jobIdPrefix),
  );
  if (claimed.length === 0) return 0;
  const rows = claimed
    .map((row) => ({ ...row, id: String(row.id) }))
    .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  try {
    await enqueue(rows);
  } catch (error) {
    await requeue(
      db,
      rows.map((row) => row.id),
    );
    throw error;
  }
  return rows.length;
}

/** Milliseconds, by the database's clock, until the next delayed row falls due; null if none waits. */
export async function msUntilNextDue(db: Db): Promise<number | null> {
  // Asked after every relay pass: prepared, not planned each time.
  const { rows } = await db.executeQuery(
    named(
      'vigil_outbox_next_due',
      db
        .selectFrom('outbox')
        .select(sql<number | null>`extract(epoch FROM (min(available_at) - now())) * 1000`.as('ms'))
        .where('enqueued_at', 'is', null)
        // True of every pending row; stated so that the index outbox_due serves this query.
        .where('failed_at', 'is', null),
    ),
  );
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? null : Math.max(0, Number(ms));
}

/** Rows handed to the queue a while ago whose work is neither done nor given up on, with their job. */
export async function unfinishedSince(db: Db, olderThanMs: number, limit: number): Promise<RelayedRow[]> {
  return db
    .selectFrom('outbox')
    .select(['id', 'topic', 'payload', 'job_id as jobId'])
    .where('enqueued_at', 'is not', null)
    .where('completed_at', 'is', null)
    .where('failed_at', 'is', null)
    .where('enqueued_at', '<', sql<Date>`now() - make_interval(secs => ${olderThanMs / 1000})`)
    .orderBy('id')
    .limit(limit)
    .execute();
}

/**
 * Sends rows back to the relay (their job vanished from Redis), unless they finished meanwhile: a
 * job that completed is removed from Redis soon after, but only after its row was marked done.
 * Returns how many went back.
 */
export async function requeue(db: Db, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db
    .updateTable('outbox')
    .set({ enqueued_at: null, job_id: null })
    .where('id', 'in', ids)
    .where('completed_at', 'is', null)
    .where('failed_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** A row as its job sees it: how many requests it holds, and since when it is due. */
export interface PendingRow {
  readonly requested: number;
  /** When it fell due (its creation, its delay's end, or a replay): deliveries are retried for a window from here. */
  readonly dueAt: Date;
}

/** Where a job's row stands: null if the row is gone or already finished. */
export async function pendingRow(db: Db, id: string): Promise<PendingRow | null> {
  const row = await db
    .selectFrom('outbox')
    .select(['requested', 'available_at'])
    .where('id', '=', id)
    .where('completed_at', 'is', null)
    .where('failed_at', 'is', null)
    .executeTakeFirst();
  return row === undefined ? null : { requested: row.requested, dueAt: row.available_at };
}

/** A notify row claimed for delivery in the claiming transaction. */
export interface ClaimedNotifyRow {
  readonly id: string;
  readonly payload: Record<string, unknown>;
  readonly row: PendingRow;
}

const claimNotifyRowsDone = prepared(
  'vigil_outbox_claim_done',
  `WITH ready AS (
    SELECT r.id FROM (
        -- The due rows oldest first. Everything above is a nested loop under the LIMIT, so the walk
        -- locks, alert by alert and row by row, only as far as it goes. (With ORDER BY and LIMIT
        -- on the outer query, a planner that believed the backlog empty, as a storm's stale
        -- statistics make it, joined and locked every pending row's alert, then sorted and kept $1:
        -- 600 alert locks for 10 rows.)
        SELECT id, payload FROM outbox
        WHERE enqueued_at IS NULL AND available_at <= now() AND topic = 'notify'
        ORDER BY id
      ) o
      -- Once a row (OFFSET 0 keeps it from being copied into each use below). Checked first: a cast
      -- that failed would fail the whole claim.
      CROSS JOIN LATERAL (SELECT CASE
        WHEN o.payload->>'alertId' ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
        THEN (o.payload->>'alertId')::uuid END AS alert_id OFFSET 0) k
      -- Probes by primary key, one per row (LATERAL with FOR stays apart from the join).
      LEFT JOIN LATERAL (SELECT id FROM alerts WHERE id = k.alert_id FOR KEY SHARE SKIP LOCKED) held ON true
      -- The row itself last, and only for an alert held here or gone (looked for only when not held):
      -- a row skipped for its alert stays free for the change that holds the alert to fold into.
      -- Still pending once locked (a concurrent claim may have taken it meanwhile).
      CROSS JOIN LATERAL (
        SELECT id FROM outbox
        WHERE id = o.id AND enqueued_at IS NULL
          AND (held.id IS NOT NULL OR NOT EXISTS (SELECT FROM alerts WHERE id = k.alert_id))
        FOR UPDATE SKIP LOCKED
      ) r
    LIMIT $1
  )
  UPDATE outbox SET enqueued_at = now(), completed_at = now()
  WHERE id IN (SELECT id FROM ready)
  RETURNING id, payload, requested, available_at`,
);

/**
 * How the notify claim is planned, for the rest of the claiming transaction: its walk of the backlog
 * is a plain index scan. Under a storm's stale statistics Postgres chose a bitmap scan, and a bitmap
 * scan never marks an index entry dead: each claim read the entry and the heap tuple of every row
 * claimed since the outbox's last VACUUM (18,000 per claim ten seconds into a storm). A plain scan
 * marks them as it passes, and the next claims skip them. The rest of a local delivery (reads by
 * key, the card upsert) has no use for bitmap scans.
 */
export const CLAIM_PLANNER_SETTING = 'enable_bitmapscan = off';

/**
 * Claims up to `limit` due notify rows and marks them done, in one statement inside the caller's
 * transaction, which delivers them before it commits (local delivery): the rows are done if it
 * commits and pending again if it rolls back. It never waits for a lock, so it can never be half
 * of a deadlock:
 * - its alerts are locked first (FOR KEY SHARE, which the cards' foreign key takes anyway), as
 *   every change locks an alert before it asks for its card; an alert a change holds FOR UPDATE
 *   (a status change, which then folds its request into the row) is skipped with its row, which
 *   is left unlocked;
 * - a row a transaction is folding a request into is skipped, as the relay skips it; the row locks
 *   then keep requests from folding in until this commits (they wait, find the row done, and add
 *   a new one).
 * Rows are skipped before the limit applies, so rows held elsewhere never crowd out the others,
 * and locks are taken only as far as the walk goes, however long the backlog.
 * A row whose alert is gone (or names none) is claimed, for the delivery to say so.
 */
export async function claimDueNotifyRows(trx: Db, limit: number): Promise<ClaimedNotifyRow[]> {
  await sql.raw(`SET LOCAL ${CLAIM_PLANNER_SETTING}`).execute(trx);
  const { rows } = await trx.executeQuery<{
    id: string;
    payload: Record<string, unknown>;
    requested: number;
    available_at: Date;
  }>(claimNotifyRowsDone(limit));
  return rows.map((row) => ({
    id: String(row.id),
    payload: row.payload,
    row: { requested: row.requested, dueAt: row.available_at },
  }));
}

/** Where several jobs' rows stand, keyed by ID: rows gone or already finished are missing. */
export async function pendingRows(db: Db, ids: readonly string[]): Promise<Map<string, PendingRow>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('outbox')
    .select(['id', 'requested', 'available_at'])
    .where('id', 'in', ids)
    .where('completed_at', 'is', null)
    .where('failed_at', 'is', null)
    .execute();
  return new Map(rows.map((row) => [row.id, { requested: row.requested, dueAt: row.available_at }]));
}

/**
 * Marks a row done, unless another request was folded into it since the job read `requested`
 * (the job then runs again, so that request is not lost). Returns whether it was marked.
 */
export async function markCompleted(db: Db, id: string, requested: number): Promise<boolean> {
  const result = await db.executeQuery(
    named(
      'vigil_outbox_completed',
      db
        .updateTable('outbox')
        .set({ completed_at: sql`now()` })
        .where('id', '=', id)
        .where('requested', '=', requested),
    ),
  );
  return (result.numAffectedRows ?? 0n) > 0n;
}

/** What `markCompletedMany` did with each row it was given. */
export interface Completions {
  readonly completed: ReadonlySet<string>;
  /**
   * Not completed because a transaction is folding a request into them right now: their
   * `requested` moves when it commits (a large one, a Graph page, takes a second or more).
   */
  readonly busy: ReadonlySet<string>;
}

/**
 * Marks rows done, each unless another request was folded into it since its job read `requested`
 * (see `markCompleted`); the others need another pass. A row a transaction is folding into right
 * now is skipped, not waited for, and reported `busy`: waiting could deadlock with that
 * transaction, which may hold other rows of this set.
 */
export async function markCompletedMany(
  db: Db,
  rows: readonly { readonly id: string; readonly requested: number }[],
): Promise<Completions> {
  if (rows.length === 0) return { completed: new Set(), busy: new Set() };
  // The outer read sees the rows as the statement began: a row not marked whose `requested` was
  // still ours then was locked (or its fold committed just after; another pass finds that out).
  const { rows: outcomes } = await sql<{ id: string; completed: boolean; unchanged: boolean }>`
    WITH d AS (
      SELECT * FROM json_to_recordset(${JSON.stringify(rows)}::json) AS d(id bigint, requested integer)
    ), marked AS (
      UPDATE outbox SET completed_at = now()
      WHERE id IN (
        SELECT o.id FROM outbox o JOIN d ON o.id = d.id AND o.requested = d.requested
        WHERE o.completed_at IS NULL AND o.failed_at IS NULL
        FOR UPDATE OF o SKIP LOCKED)
      RETURNING id
    )
    SELECT d.id, marked.id IS NOT NULL AS completed,
      coalesce(o.requested = d.requested AND o.completed_at IS NULL AND o.failed_at IS NULL, false) AS unchanged
    FROM d LEFT JOIN marked ON marked.id = d.id LEFT JOIN outbox o ON o.id = d.id`.execute(db);
  const completed = new Set<string>();
  const busy = new Set<string>();
  for (const row of outcomes) {
    if (row.completed) completed.add(String(row.id));
    else if (row.unchanged) busy.add(String(row.id));
  }
  return { completed, busy };
}

/**
 * Gives a row up. It stops coalescing (its key is dropped): later requests start a new row, and a
 * replay of this one can never collide with a row pending under the same key. A row already
 * completed stays so (a job shared by many rows fails for the ones it has left).
 */
export async function markFailed(db: Db, id: string, error: string): Promise<void> {
  await db
    .updateTable('outbox')
    .set({ failed_at: sql`now()`, last_error: error.slice(0, 2000), dedupe_key: null })
    .where('id', '=', id)
    .where('completed_at', 'is', null)
    .execute();
}
