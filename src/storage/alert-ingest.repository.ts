import { CompiledQuery } from 'kysely';
import {
  type Actor,
  type AlertDraft,
  actorKey,
  belongsToResolvedAlert,
  type Clock,
  type IngestEvent,
  type OccurrenceGroup,
  OPEN_INVESTIGATION_STATUSES,
  SEVERITIES,
} from '../domain/index.js';
import { changeAlert } from './alert.repository.js';
import { type Db, type DbHandle, prepared } from './db.js';
import { joinIncidents } from './incident.repository.js';
import { planInvestigations } from './investigation-plan.repository.js';
import { NOTIFY_KEY_PREFIX, OUTBOX_FOLD } from './outbox.repository.js';
import { applyPoliciesAtIngest, policiesMatchAtIngest } from './policy.repository.js';

/** What became of one occurrence group. */
export interface OccurrenceOutcome {
  readonly alertId: string;
  readonly number: string;
  readonly duplicate: boolean;
  readonly occurrenceCount: number;
}

const textArray = (values: readonly string[]): string => `ARRAY[${values.map((s) => `'${s}'`).join(',')}]`;
const severityList = textArray(SEVERITIES);

/** What decides, beside its alerts, which work a batch entails. */
interface IngestSettings {
  /** For the policy cache's check (see applyPoliciesAtIngest). */
  readonly policyGeneration: string;
  /** Whether an enabled investigation rule or an open investigation exists. */
  readonly mayInvestigate: boolean;
}

interface IngestContext extends IngestSettings {
  /** The latest alert of each fingerprint that has one. */
  readonly latest: readonly {
    readonly id: string;
    readonly fingerprint: string;
    readonly status: string;
    readonly status_changed_at: Date | null;
  }[];
}

/**
 * The settings each schema's last batch found (tests run many installs in one process). A batch
 * that expects them writes by `writeOccurrencesChecked`, which finds out in the same statement
 * whether they still hold; so a batch costs one round trip, not a read and then a write.
 */
const knownSettings = new Map<string, IngestSettings>();

/** The settings as columns `generation` and `may_investigate`, for a FROM clause. */
const CURRENT_SETTINGS = `(SELECT (SELECT generation FROM policy_generation) AS generation,
    EXISTS (SELECT 1 FROM investigation_rules WHERE enabled)
      -- Not EXISTS: Postgres would drop its ORDER BY and LIMIT, and with them the partial index
      -- investigations_open.
      OR (SELECT created_at FROM investigations WHERE status = ANY(${textArray(OPEN_INVESTIGATION_STATUSES)})
        ORDER BY created_at DESC LIMIT 1) IS NOT NULL
      AS may_investigate)`;

/**
 * The latest alert of the fingerprint `fingerprint` names: one index probe a fingerprint (LIMIT
 * keeps the subquery apart; a plan cached while the table was small would otherwise scan every
 * alert on every batch, for as long as the connection lives).
 */
const latestAlertOf = (fingerprint: string) =>
  `SELECT id, status, status_changed_at FROM alerts WHERE fingerprint = ${fingerprint}
    ORDER BY created_at DESC LIMIT 1`;

/**
 * What a batch needs to know before it writes, in one round trip: the fingerprints' latest
 * alerts (occurrences that began before that alert was resolved belong to it), the policy
 * generation, and whether investigation planning can do anything at all.
 */
const readContext = prepared(
  'vigil_ingest_context',
  `SELECT l.id, f.fingerprint, l.status, l.status_changed_at, g.generation, g.may_investigate
    FROM ${CURRENT_SETTINGS} g
    CROSS JOIN unnest($1::text[]) AS f(fingerprint)
    LEFT JOIN LATERAL (${latestAlertOf('f.fingerprint')}) l ON true`,
);

async function ingestContext(db: Db, fingerprints: readonly string[]): Promise<IngestContext> {
  const { rows } = await db.executeQuery<{
    id: string | null;
    fingerprint: string | null;
    status: string | null;
    status_changed_at: Date | null;
    generation: string;
    may_investigate: boolean;
  }>(readContext(fingerprints));
  const first = rows[0];
  if (first === undefined) throw new Error('the ingest context query returned no row');
  return {
    latest: rows.flatMap((row) =>
      row.id === null || row.fingerprint === null || row.status === null
        ? []
        : [
            {
              id: row.id,
              fingerprint: row.fingerprint,
              status: row.status,
              status_changed_at: row.status_changed_at,
            },
          ],
    ),
    policyGeneration: first.generation,
    mayInvestigate: first.may_investigate,
  };
}

/** Occurrences counted on the resolved alert they belong to (`lateId`), found by primary key. */
const LATE_OCCURRENCES = `late AS (
    UPDATE alerts SET occurrence_count = alerts.occurrence_count + i.count,
      last_seen_at = greatest(alerts.last_seen_at, i."lastSeenAt"), revision = alerts.revision + 1, updated_at = $2
    FROM input i WHERE alerts.id = i."lateId"
      -- Found by primary key, whatever the planner guesses of the input's size.
      AND alerts.id = ANY(ARRAY(SELECT "lateId" FROM input WHERE "lateId" IS NOT NULL))
    RETURNING alerts.id, alerts.number, alerts.fingerprint, alerts.occurrence_count, false AS inserted
  )`;

/**
 * For `writeOccurrencesChecked`: whether the settings the batch was planned with ($3, $4) still
 * hold and none of its occurrences belongs to a resolved alert (the domain's
 * `belongsToResolvedAlert`: began at or before the latest alert of its fingerprint was resolved).
 * Read in the statement's snapshot, before it writes; with the settings found, for the next batch.
 */
const SETTINGS_CHECK = `checked AS (
    SELECT c.generation, c.may_investigate,
      c.generation = $3::bigint AND ($4::boolean OR NOT c.may_investigate) AND NOT EXISTS (
        SELECT 1 FROM input i CROSS JOIN LATERAL (${latestAlertOf('i.fingerprint')}) l
        WHERE l.status = 'resolved' AND i."firstSeenAt" <= l.status_changed_at
      ) AS holds
    FROM ${CURRENT_SETTINGS} c
  )`;

/**
 * Writes the occurrence groups, and their entities, audit rows and notify outbox rows, in one
 * statement (data-modifying CTEs): one round trip a batch, and one statement text for any batch
 * (the rows travel as one JSON document), so Postgres plans it once per connection (see
 * `prepared`). A group with `lateId` counts on that (resolved) alert; the others are upserted on
 * the partial unique index `alerts_open_fingerprint` (the rule of the domain's `occurrenceUpdate`,
 * atomic, so any number of concurrent writers end with the right count). Rows come in the order of
 * the input (sorted by fingerprint, so concurrent batches lock alike and cannot deadlock); entity
 * and outbox rows in the key orders the other writers of those tables use (outbox.repository.ts,
 * graph-sync.repository.ts). The audit details and the notify payload (that of the domain's
 * `notify`) are built in SQL here, as they depend on whether the row was inserted.
 */
const occurrencesStatement = (variant: 'plain' | 'late' | 'checked') => `WITH input AS (
    SELECT * FROM json_to_recordset($1::json) AS i(
      ord int, "lateId" uuid, source text, "sourceId" text, fingerprint text, title text, description text,
      severity text, category text, "policyName" text, "policyUrl" text, labels jsonb, links jsonb,
      determination text, "firstSeenAt" timestamptz, "lastSeenAt" timestamptz, count int, raw jsonb,
      actor jsonb, "actorKey" text, entities json)
  ), ${variant === 'late' ? `${LATE_OCCURRENCES}, ` : ''}${variant === 'checked' ? `${SETTINGS_CHECK}, ` : ''}upserted AS (
    INSERT INTO alerts (source, source_id, fingerprint, title, description, severity, category, policy_name,
      policy_url, labels, links, determination, first_seen_at, last_seen_at, occurrence_count, raw,
      previous_alert_id, created_at, updated_at)
    SELECT i.source, i."sourceId", i.fingerprint, i.title, i.description, i.severity, i.category, i."policyName",
      i."policyUrl", i.labels, i.links, i.determination, i."firstSeenAt", i."lastSeenAt", i.count,
      coalesce(i.raw, 'null'),
      -- A fingerprint that fires again after resolution opens a new alert that points back. A row is
      -- only inserted when the fingerprint has no open alert, so its latest alert is the resolved one
      -- (looked up by (fingerprint, created_at), never by status: resolved alerts are most of the table).
      (SELECT prev.id FROM alerts prev WHERE prev.fingerprint = i.fingerprint ORDER BY prev.created_at DESC LIMIT 1),
      $2, $2
    FROM input i WHERE i."lateId" IS NULL${variant === 'checked' ? ' AND (SELECT holds FROM checked)' : ''} ORDER BY i.ord
    ON CONFLICT (fingerprint) WHERE status <> 'resolved' DO UPDATE SET
      occurrence_count = alerts.occurrence_count + excluded.occurrence_count,
      last_seen_at = greatest(alerts.last_seen_at, excluded.last_seen_at),
      severity = CASE WHEN array_position(${severityList}, excluded.severity)
        > array_position(${severityList}, alerts.severity) THEN excluded.severity ELSE alerts.severity END,
      revision = alerts.revision + 1,
      updated_at = $2
    RETURNING id, number, fingerprint, occurrence_count, (xmax = 0) AS inserted
  ), stored AS (
    ${variant === 'late' ? 'SELECT * FROM late UNION ALL ' : ''}SELECT * FROM upserted
  ), entities AS (
    INSERT INTO alert_entities (alert_id, kind, key, display_name, roles, attributes)
    SELECT s.id, e.kind, e.key, e."displayName", e.roles, e.attributes
    FROM stored s JOIN input i USING (fingerprint)
      CROSS JOIN LATERAL json_to_recordset(i.entities) AS e(kind text, key text, "displayName" text,
        roles jsonb, attributes jsonb)
    ORDER BY (s.id::text || e.kind || e.key) COLLATE "C"
    ON CONFLICT (alert_id, kind, key) DO NOTHING
  ), audit AS (
    INSERT INTO audit_log (alert_id, actor, actor_key, action, details, at)
    SELECT s.id, i.actor, i."actorKey",
      CASE WHEN s.inserted THEN 'alert.created' ELSE 'alert.occurred_again' END,
      CASE WHEN s.inserted
        THEN jsonb_build_object('occurrences', i.count, 'fingerprint', i.fingerprint, 'severity', i.severity)
        ELSE jsonb_build_object('occurrences', i.count, 'occurrenceCount', s.occurrence_count) END,
      $2
    FROM stored s JOIN input i USING (fingerprint) ORDER BY i.ord
  ), notified AS (
    INSERT INTO outbox (topic, payload, dedupe_key)
    SELECT 'notify', jsonb_build_object('alertId', s.id, 'reason', CASE WHEN s.inserted THEN 'created' ELSE 'occurred' END),
      '${NOTIFY_KEY_PREFIX}' || s.id
    FROM stored s ORDER BY ('${NOTIFY_KEY_PREFIX}' || s.id) COLLATE "C"
    ${OUTBOX_FOLD}
  )
  ${
    variant === 'checked'
      ? `SELECT s.id, s.number, s.fingerprint, s.occurrence_count, s.inserted, c.generation, c.may_investigate
    FROM checked c LEFT JOIN stored s ON true`
      : 'SELECT id, number, fingerprint, occurrence_count, inserted FROM stored'
  }`;

/** The most groups a batch written by the prepared statement has: more than an ingest batch (at most 250), less than a Graph page. */
const PREPARED_BATCH_MOST = 500;

/**
 * Batches of a schema whose settings are known (nearly all): prepared, its generic plan touches
 * alerts only by index. Writes nothing, and answers one row of nulls with the settings found, when
 * the settings changed or an occurrence is late (see `SETTINGS_CHECK`).
 */
const writeOccurrencesChecked = prepared('vigil_store_occurrences_checked', occurrencesStatement('checked'));

/** Batches with no late occurrence after a context read: prepared, as the checked one. */
const writeOccurrences = prepared('vigil_store_occurrences', occurrencesStatement('plain'));

/**
 * Batches with late occurrences, and large ones: planned for their values each time. A generic plan
 * for `id = ANY(...)` made while the table was small scans every alert; and a Graph page of 2,000
 * alerts took twice as long under the prepared statement's plan (joins made for a few rows).
 */
const writeOccurrencesPlanned = (...parameters: readonly unknown[]) =>
  CompiledQuery.raw(occurrencesStatement('late'), [...parameters]);

/**
 * One row of the statement's `input` (its `json_to_recordset` columns), written out field by field:
 * spreading the draft and adding fields cost ~25 µs an alert (V8 turned each copy into a slow,
 * dictionary-mode object, for the copy and again for JSON.stringify), a literal well under 1 µs.
 */
function inputRow(group: OccurrenceGroup, ord: number, lateId: string | null) {
  const { draft } = group;
  const actor: Actor = { kind: 'source', source: draft.source };
  return {
    ord,
    lateId,
    source: draft.source,
    sourceId: draft.sourceId,
    fingerprint: draft.fingerprint,
    title: draft.title,
    description: draft.description,
    severity: draft.severity,
    category: draft.category,
    policyName: draft.policyName,
    policyUrl: draft.policyUrl,
    labels: draft.labels,
    links: draft.links,
    determination: draft.determination,
    firstSeenAt: group.firstSeenAt,
    lastSeenAt: group.lastSeenAt,
    count: group.count,
    raw: draft.raw,
    actor,
    actorKey: actorKey(actor),
    entities: draft.entities,
  };
}

interface StoredRow {
  readonly id: string;
  readonly number: string;
  readonly fingerprint: string;
  readonly occurrence_count: number;
  readonly inserted: boolean;
}

/** A row of the checked statement: a stored row, or nulls when it wrote nothing; with the settings it found. */
type CheckedRow = { readonly [K in keyof StoredRow]: StoredRow[K] | null } & {
  readonly generation: string;
  readonly may_investigate: boolean;
};

/** The outcome of each group, in the order of `groups`, from the rows the statement returned. */
function outcomesOf(groups: readonly OccurrenceGroup[], rows: readonly StoredRow[]): OccurrenceOutcome[] {
  const byFingerprint = new Map(rows.map((row) => [row.fingerprint, row]));
  return groups.map((group) => {
    const row = byFingerprint.get(group.draft.fingerprint);
    if (row === undefined)
      throw new Error(`upsert returned no row for fingerprint ${group.draft.fingerprint}`);
    return {
      alertId: row.id,
      number: row.number,
      duplicate: !row.inserted,
      occurrenceCount: row.occurrence_count,
    };
  });
}

/** Writes a batch's rows; `undefined` when the checked statement found its settings changed. */
type Write = (db: Db) => Promise<OccurrenceOutcome[] | undefined>;

/**
 * Stores occurrence groups: a new alert for each fingerprint with no open alert, or one
 * occurrence update on the open alert, with entities, audit and notify outbox rows, in one
 * statement (see `writeOccurrences`). Occurrences that began before their fingerprint's latest
 * alert was resolved are counted on that resolved alert (see the domain's
 * `belongsToResolvedAlert`). When policies or silences match a new alert, an investigation rule
 * or open investigation exists, or Graph alerts join incidents, that statement and the work it
 * entails run in one transaction; otherwise the statement alone is the transaction. Returns
 * outcomes in the order of `groups`.
 *
 * A batch planned with the settings the schema's last batch found is written in one round trip
 * (`writeOccurrencesChecked`); only when they changed, or an occurrence is late, is it written again
 * after a read of its context.
 */
export async function storeOccurrences(
  handle: DbHandle,
  groups: readonly OccurrenceGroup[],
  clock: Clock,
): Promise<OccurrenceOutcome[]> {
  if (groups.length === 0) return [];
  const now = clock.now();
  const ordered = [...groups].sort((a, b) => (a.draft.fingerprint < b.draft.fingerprint ? -1 : 1));
  const known = knownSettings.get(handle.schema);
  if (known !== undefined && ordered.length <= PREPARED_BATCH_MOST) {
    const input = JSON.stringify(ordered.map((group, ord) => inputRow(group, ord, null)));
    const writeChecked: Write = async (db) => {
      const { rows } = await db.executeQuery<CheckedRow>(
        writeOccurrencesChecked(input, now, known.policyGeneration, known.mayInvestigate),
      );
      const first = rows[0];
      if (first === undefined) throw new Error('the checked ingest statement returned no row');
      knownSettings.set(handle.schema, {
        policyGeneration: first.generation,
        mayInvestigate: first.may_investigate,
      });
      return first.id === null ? undefined : outcomesOf(groups, rows as StoredRow[]);
    };
    const stored = await persist(handle, groups, known, now, writeChecked);
    if (stored !== undefined) return stored;
  }

  // Read before any write, as a transaction's first statement would (read committed): no lock is taken.
  const context = await ingestContext(
    handle.db,
    ordered.map((group) => group.draft.fingerprint),
  );
  knownSettings.set(handle.schema, {
    policyGeneration: context.policyGeneration,
    mayInvestigate: context.mayInvestigate,
  });
  const latestBy = new Map(context.latest.map((row) => [row.fingerprint, row]));
  const lateIdOf = (group: OccurrenceGroup): string | null => {
    const row = latestBy.get(group.draft.fingerprint);
    return row !== undefined &&
      belongsToResolvedAlert(
        { status: row.status, statusChangedAt: row.status_changed_at },
        group.firstSeenAt,
      )
      ? row.id
      : null;
  };
  const input = ordered.map((group, ord) => inputRow(group, ord, lateIdOf(group)));
  const planned = input.length > PREPARED_BATCH_MOST || input.some((row) => row.lateId !== null);
  const write = planned ? writeOccurrencesPlanned : writeOccurrences;
  const writeRead: Write = async (db) => {
    const { rows } = await db.executeQuery<StoredRow>(write(JSON.stringify(input), now));
    return outcomesOf(groups, rows);
  };
  const lateFingerprints = new Set(input.flatMap((row) => (row.lateId === null ? [] : [row.fingerprint])));
  const stored = await persist(handle, groups, context, now, writeRead, lateFingerprints);
  if (stored === undefined) throw new Error('the ingest statement wrote nothing');
  return stored;
}

/**
 * Runs `write`, alone when the batch entails nothing more, or in a transaction with the work it
 * entails (policies and silences, investigations, incidents) for the groups that may be new (not in
 * `late`, the fingerprints counted on resolved alerts).
 */
async function persist(
  handle: DbHandle,
  groups: readonly OccurrenceGroup[],
  settings: IngestSettings,
  now: Date,
  write: Write,
  late: ReadonlySet<string> = new Set(),
): Promise<OccurrenceOutcome[] | undefined> {
  const mayBeNew = groups.flatMap((group) => (late.has(group.draft.fingerprint) ? [] : [group.draft]));
  const joinsIncident = (draft: AlertDraft) => draft.source === 'graph' && Boolean(draft.labels.incidentId);
  const followUp =
    settings.mayInvestigate ||
    mayBeNew.some(joinsIncident) ||
    (await policiesMatchAtIngest(handle.db, handle.schema, mayBeNew, now, settings.policyGeneration));
  if (!followUp) return write(handle.db);

  return handle.db.transaction().execute(async (trx) => {
    const outcomes = await write(trx);
    // Nothing written: the caller writes again with what it reads.
    if (outcomes === undefined) return undefined;
    const created = groups.flatMap((group, index) => {
      const outcome = outcomes[index] as OccurrenceOutcome;
      return outcome.duplicate ? [] : [{ alertId: outcome.alertId, draft: group.draft }];
    });
    // Policies and silences for the new alerts, in this transaction (see applyPoliciesAtIngest).
    await applyPoliciesAtIngest(trx, handle.schema, created, now, settings.policyGeneration);
    // New alerts start or join investigations in this same transaction (one set-based query),
    // unless there is neither a rule to start one nor an open one to join.
    if (settings.mayInvestigate)
      await planInvestigations(
        trx,
        created.map((alert) => alert.alertId),
        now,
      );
    // Graph alerts Defender grouped into an incident join it (created on first sight).
    await joinIncidents(
      trx,
      created.flatMap(({ alertId, draft }) =>
        draft.source === 'graph' ? [{ alertId, incidentGraphId: draft.labels.incidentId }] : [],
      ),
      now,
    );
    return outcomes;
  });
}

export type SourceStatusOutcome =
  | { readonly kind: 'changed' | 'unchanged'; readonly alertId: string; readonly number: string }
  | { readonly kind: 'no_open_alert' };

/**
 * Applies a source's own status change (Alertmanager `resolved`, PagerDuty `acknowledge` or
 * `resolve`) to the open alert of that fingerprint, with the source as actor.
 */
export async function applySourceStatus(
  handle: DbHandle,
  event: Extract<IngestEvent, { kind: 'source_status' }>,
  clock: Clock,
): Promise<SourceStatusOutcome> {
  const open = await handle.db
    .selectFrom('alerts')
    .select(['id', 'number'])
    .where('fingerprint', '=', event.fingerprint)
    .where('status', '<>', 'resolved')
    .executeTakeFirst();
  if (open === undefined) return { kind: 'no_open_alert' };
  // The change is dated when it happened at the source, if that was earlier than now.
  const atSource: Clock = { now: () => new Date(Math.min(event.at.getTime(), clock.now().getTime())) };
  const result = await changeAlert(handle, open.id, { kind: 'source', source: event.source }, atSource, {
    type: 'status',
    request: { action: event.action, classification: event.classification },
  });
  // A concurrent change may have moved it first; either way the source's wish is met or moot.
  if (!result.ok) return { kind: 'unchanged', alertId: open.id, number: open.number };
  return { kind: result.value.changed ? 'changed' : 'unchanged', alertId: open.id, number: open.number };
}
