import { sql } from 'kysely';
import {
  type Actor,
  type AlertStatus,
  type AuditEntry,
  actorKey,
  decideStep,
  type EscalationPolicy,
  type EscalationPolicySpec,
  nextStepDue,
  type OnCallPerson,
  type OutboxMessage,
  onCallAt,
  onCallNowAndNext,
  type PageState,
  type Schedule,
  type ScheduleOverride,
  type Shift,
} from '../domain/index.js';
import { json } from './alert.mapper.js';
import { appendAudit } from './audit.repository.js';
import type { Db, DbHandle } from './db.js';
import { appendOutbox } from './outbox.repository.js';

export interface StoredSchedule extends Schedule {
  readonly id: string;
  readonly version: number;
}

const toSchedule = (row: {
  id: string;
  name: string;
  version: number;
  spec: Record<string, unknown>;
}): StoredSchedule => ({
  ...(row.spec as unknown as Schedule),
  id: row.id,
  name: row.name,
  version: row.version,
});

const toEscalation = (row: {
  id: string;
  name: string;
  version: number;
  spec: Record<string, unknown>;
}): EscalationPolicy => ({
  ...(row.spec as unknown as EscalationPolicySpec),
  id: row.id,
  name: row.name,
  version: row.version,
});

export async function listSchedules(db: Db): Promise<StoredSchedule[]> {
  return (await db.selectFrom('schedules').selectAll().orderBy('name').execute()).map(toSchedule);
}

export async function listEscalationPolicies(db: Db): Promise<EscalationPolicy[]> {
  return (await db.selectFrom('escalation_policies').selectAll().orderBy('name').execute()).map(toEscalation);
}

/** What a named definition (schedule, escalation policy) change writes: the row, and an audit row with the previous spec. */
type Kind = 'schedule' | 'escalation_policy';
const TABLE = { schedule: 'schedules', escalation_policy: 'escalation_policies' } as const;

/**
 * Creates, replaces or deletes a schedule or escalation policy by name, inside the caller's
 * transaction; the audit row carries the ID, both versions and the previous spec, so nothing is lost.
 */
export async function putNamed(
  trx: Db,
  kind: Kind,
  name: string,
  spec: Schedule | EscalationPolicySpec | null,
  actor: Actor,
  now: Date,
): Promise<{ id: string; version: number } | null> {
  const table = TABLE[kind];
  const before = await trx
    .selectFrom(table)
    .selectAll()
    .where('name', '=', name)
    .forUpdate()
    .executeTakeFirst();
  let after: { id: string; version: number } | null = null;
  if (spec === null) {
    if (before === undefined) return null;
    await trx.deleteFrom(table).where('id', '=', before.id).execute();
  } else if (before === undefined) {
    after = await trx
      .insertInto(table)
      .values({ name, spec: json(spec), updated_by: actorKey(actor), updated_at: now })
      .returning(['id', 'version'])
      .executeTakeFirstOrThrow();
  } else {
    after = await trx
      .updateTable(table)
      .set({ spec: json(spec), version: sql`version + 1`, updated_by: actorKey(actor), updated_at: now })
      .where('id', '=', before.id)
      .returning(['id', 'version'])
      .executeTakeFirstOrThrow();
  }
  const change = spec === null ? 'deleted' : before === undefined ? 'created' : 'changed';
  await appendAudit(trx, [
    {
      alertId: null,
      actor,
      action: `${kind}.${change}`,
      details: {
        [`${kind === 'schedule' ? 'schedule' : 'escalationPolicy'}Id`]: before?.id ?? after?.id,
        name,
        ...(before === undefined ? {} : { previousVersion: before.version, previous: before.spec }),
        ...(after === null ? {} : { version: after.version, spec }),
      },
      at: now,
    },
  ]);
  return after ?? { id: before?.id as string, version: before?.version as number };
}

export async function addOverride(
  handle: DbHandle,
  scheduleName: string,
  override: ScheduleOverride,
  actor: Actor,
  now: Date,
): Promise<string | null> {
  return handle.db.transaction().execute(async (trx) => {
    const schedule = await trx
      .selectFrom('schedules')
      .select('id')
      .where('name', '=', scheduleName)
      .executeTakeFirst();
    if (schedule === undefined) return null;
    const row = await trx
      .insertInto('schedule_overrides')
      .values({
        schedule_id: schedule.id,
        person: json(override.person),
        starts_at: override.startsAt,
        ends_at: override.endsAt,
        created_by: actorKey(actor),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, [
      {
        alertId: null,
        actor,
        action: 'schedule.override_added',
        details: {
          scheduleId: schedule.id,
          overrideId: row.id,
          person: override.person,
          startsAt: override.startsAt.toISOString(),
          endsAt: override.endsAt.toISOString(),
        },
        at: now,
      },
    ]);
    return row.id;
  });
}

async function overridesOf(
  db: Db,
  scheduleIds: readonly string[],
  after: Date,
): Promise<Map<string, ScheduleOverride[]>> {
  const by = new Map<string, ScheduleOverride[]>();
  if (scheduleIds.length === 0) return by;
  const rows = await db
    .selectFrom('schedule_overrides')
    .selectAll()
    .where('schedule_id', 'in', scheduleIds)
    .where('ends_at', '>', after)
    .execute();
  for (const row of rows) {
    const list = by.get(row.schedule_id) ?? [];
    list.push({
      id: row.id,
      person: row.person as unknown as OnCallPerson,
      startsAt: row.starts_at,
      endsAt: row.ends_at,
    });
    by.set(row.schedule_id, list);
  }
  return by;
}

/** Every schedule with who is on call now and next, and its overrides not yet over (for `/vigil oncall` and the API). */
export async function whoIsOnCall(
  db: Db,
  now: Date,
): Promise<
  { schedule: StoredSchedule; now: Shift; next: Shift | null; overrides: readonly ScheduleOverride[] }[]
> {
  const schedules = await listSchedules(db);
  const overrides = await overridesOf(
    db,
    schedules.map((s) => s.id),
    now,
  );
  return schedules.map((schedule) => ({
    schedule,
    ...onCallNowAndNext(schedule, overrides.get(schedule.id) ?? [], now),
    overrides: (overrides.get(schedule.id) ?? []).sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime()),
  }));
}

/**
 * Starts pages for alerts inside the ingest transaction: each page keeps a copy of its
 * escalation policy, and its first step is due at once. Returns the outbox rows to write.
 */
export async function startPages(
  trx: Db,
  pages: readonly { alertId: string; policyId: string; escalation: EscalationPolicy }[],
  now: Date,
): Promise<{ outbox: OutboxMessage[]; audit: AuditEntry[] }> {
  if (pages.length === 0) return { outbox: [], audit: [] };
  const rows = await trx
    .insertInto('pages')
    .values(
      pages.map((page) => ({
        alert_id: page.alertId,
        escalation_policy_id: page.escalation.id,
        escalation_policy: json(page.escalation),
        policy_id: page.policyId,
        created_at: now,
        updated_at: now,
      })),
    )
    .onConflict((oc) => oc.columns(['alert_id', 'escalation_policy_id']).doNothing())
    .returning(['id', 'alert_id', 'escalation_policy_id', 'policy_id'])
    .execute();
  return {
    outbox: rows.map((row) => ({
      topic: 'escalate',
      // Due at once: no availableAt, so the row is relayed on commit whatever the clock says.
      payload: { pageId: row.id, stepNo: 0, dueAt: now.toISOString() },
    })) as OutboxMessage[],
    audit: rows.map((row) => ({
      alertId: row.alert_id,
      actor: {
        kind: 'policy',
        policyId: row.policy_id as string,
        name: pages.find((p) => p.alertId === row.alert_id)?.escalation.name ?? '',
      },
      action: 'page.started',
      details: { pageId: row.id, escalationPolicyId: row.escalation_policy_id, policyId: row.policy_id },
      at: now,
    })),
  };
}

/** A recipient of one step: the person and the identity keys (`slack:U0123`) to message. */
export interface StepRecipient {
  readonly person: OnCallPerson;
  readonly keys: readonly string[];
  /** The schedule that put them there, if any. */
  readonly schedule?: string | undefined;
}

export type BeginStep =
  | { readonly kind: 'stopped'; readonly reason: string }
  | {
      readonly kind: 'notify';
      readonly pageId: string;
      readonly alertId: string;
      readonly stepNo: number;
      readonly levelIndex: number;
      readonly escalationName: string;
      readonly recipients: readonly StepRecipient[];
      readonly delivered: readonly string[];
    };

const identityKeys = (person: OnCallPerson): string[] => [
  ...(person.slack === undefined ? [] : [`slack:${person.slack}`]),
  ...(person.teams === undefined ? [] : [`teams:${person.teams}`]),
];

/**
 * Takes step `stepNo` of a page, or finds it taken. In one transaction, under the page's row
 * lock: the page and its alert are read; an acknowledged alert stops the page; otherwise the
 * step's row is written (UNIQUE (page_id, step_no): a re-run finds it and only finishes its
 * deliveries), with the next step's outbox row, due after the level's wait. Audited on the alert.
 */
export async function beginStep(
  handle: DbHandle,
  pageId: string,
  stepNo: number,
  now: Date,
  dueAt: Date,
): Promise<BeginStep> {
  return handle.db.transaction().execute(async (trx) => {
    const page = await trx
      .selectFrom('pages')
      .selectAll()
      .where('id', '=', pageId)
      .forUpdate()
      .executeTakeFirst();
    if (page === undefined) return { kind: 'stopped', reason: 'no such page' };
    const escalation = page.escalation_policy as unknown as EscalationPolicy;
    const existing = await trx
      .selectFrom('page_steps')
      .selectAll()
      .where('page_id', '=', pageId)
      .where('step_no', '=', stepNo)
      .executeTakeFirst();
    if (existing !== undefined) {
      // Taken before a crash or a lost job: finish its deliveries, write nothing new.
      return {
        kind: 'notify',
        pageId,
        alertId: page.alert_id,
        stepNo,
        levelIndex: existing.level,
        escalationName: escalation.name,
        recipients: existing.recipients as StepRecipient[],
        delivered: existing.delivered,
      };
    }
    const alert = await trx
      .selectFrom('alerts')
      .select(['status'])
      .where('id', '=', page.alert_id)
      .executeTakeFirstOrThrow();
    const decision = decideStep(
      { state: page.state as PageState, policy: escalation },
      alert.status as AlertStatus,
      stepNo,
    );
    const actor: Actor = { kind: 'system' };
    if (decision.kind === 'stop') {
      if (page.state === 'open') {
        await trx
          .updateTable('pages')
          .set({ state: decision.state, stopped_reason: decision.reason, updated_at: now })
          .where('id', '=', pageId)
          .execute();
        await appendAudit(trx, [
          {
            alertId: page.alert_id,
            actor,
            action: 'page.stopped',
            details: { pageId, stepNo, state: decision.state, reason: decision.reason },
            at: now,
          },
        ]);
      }
      return { kind: 'stopped', reason: decision.reason };
    }
    const recipients = await recipientsOf(trx, decision.level.targets, now);
    await trx
      .insertInto('page_steps')
      .values({
        page_id: pageId,
        step_no: stepNo,
        level: decision.levelIndex,
        recipients: json(recipients),
        due_at: dueAt,
        started_at: now,
      })
      .execute();
    const next = nextStepDue(escalation, stepNo, now);
    await trx
      .updateTable('pages')
      .set({
        current_step: stepNo,
        updated_at: now,
        ...(next === null ? { state: 'exhausted', stopped_reason: 'every level was notified' } : {}),
      })
      .where('id', '=', pageId)
      .execute();
    if (next !== null) {
      await appendOutbox(trx, [
        {
          topic: 'escalate',
          payload: { pageId, stepNo: next.stepNo, dueAt: next.dueAt.toISOString() },
          availableAt: next.dueAt,
        } as OutboxMessage,
      ]);
    }
    await appendAudit(trx, [
      {
        alertId: page.alert_id,
        actor,
        action: 'page.step',
        details: {
          pageId,
          stepNo,
          level: decision.levelIndex + 1,
          escalationPolicy: escalation.name,
          recipients: recipients.map((r) => r.person.name),
          ...(next === null ? { last: true } : { nextStepAt: next.dueAt.toISOString() }),
        },
        at: now,
      },
    ]);
    return {
      kind: 'notify',
      pageId,
      alertId: page.alert_id,
      stepNo,
      levelIndex: decision.levelIndex,
      escalationName: escalation.name,
      recipients,
      delivered: [],
    };
  });
}

/** The people a level reaches now: named people, and whoever each schedule has on call. */
async function recipientsOf(
  db: Db,
  targets: EscalationPolicySpec['levels'][number]['targets'],
  now: Date,
): Promise<StepRecipient[]> {
  const names = targets.flatMap((t) => (t.type === 'schedule' ? [t.schedule] : []));
  const schedules =
    names.length === 0
      ? []
      : (await db.selectFrom('schedules').selectAll().where('name', 'in', names).execute()).map(toSchedule);
  const overrides = await overridesOf(
    db,
    schedules.map((s) => s.id),
    now,
  );
  const out: StepRecipient[] = [];
  const add = (person: OnCallPerson, schedule?: string) => {
    const keys = identityKeys(person);
    if (out.some((r) => r.keys.some((k) => keys.includes(k)))) return;
    out.push({ person, keys, ...(schedule === undefined ? {} : { schedule }) });
  };
  for (const target of targets) {
    if (target.type === 'person') add(target.person);
    else {
      const schedule = schedules.find((s) => s.name === target.schedule);
      if (schedule === undefined) continue;
      for (const person of onCallAt(schedule, overrides.get(schedule.id) ?? [], now).people)
        add(person, schedule.name);
    }
  }
  return out;
}

/** Records one delivered direct message of a step, audited on the alert. */
export async function recordDelivered(
  handle: DbHandle,
  step: { pageId: string; alertId: string; stepNo: number },
  key: string,
  person: string,
  now: Date,
): Promise<void> {
  await handle.db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('page_steps')
      .set({ delivered: sql`delivered || ${json([key])}::jsonb` })
      .where('page_id', '=', step.pageId)
      .where('step_no', '=', step.stepNo)
      .where(sql<boolean>`NOT delivered ? ${key}`)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) return;
    await appendAudit(trx, [
      {
        alertId: step.alertId,
        actor: { kind: 'system' },
        action: 'page.notified',
        details: { pageId: step.pageId, stepNo: step.stepNo, recipient: key, person },
        at: now,
      },
    ]);
  });
}

export async function finishStep(db: Db, pageId: string, stepNo: number, now: Date): Promise<void> {
  await db
    .updateTable('page_steps')
    .set({ finished_at: now })
    .where('page_id', '=', pageId)
    .where('step_no', '=', stepNo)
    .where('finished_at', 'is', null)
    .execute();
}

/** The stored personal chat of a Teams user (the bot was installed for them), for direct messages. */
export async function personalTeamsConversation(
  db: Db,
  aadObjectId: string,
): Promise<{ id: string; serviceUrl: string } | null> {
  const row = await db
    .selectFrom('teams_conversations')
    .select(['id', 'service_url'])
    .where('kind', '=', 'personal')
    .where('user_aad_object_id', '=', aadObjectId)
    .where('active', '=', true)
    .orderBy('updated_at', 'desc')
    .executeTakeFirst();
  return row === undefined ? null : { id: row.id, serviceUrl: row.service_url };
}
