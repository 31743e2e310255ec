import { sql } from 'kysely';
import {
  type Actor,
  type AlertDraft,
  type AuditEntry,
  actorKey,
  type CompiledSilence,
  compileSilence,
  decidePolicies,
  diffByName,
  type EntityMatcher,
  type EscalationPolicy,
  type EscalationPolicySpec,
  type LabelMatcher,
  type NamedDiff,
  type OutboxMessage,
  type PoliciesFile,
  type Policy,
  PolicyIndex,
  type PolicySpec,
  type Schedule,
  type Silence,
  silenceFor,
} from '../domain/index.js';
import { json } from './alert.mapper.js';
import { appendAudit } from './audit.repository.js';
import type { Db, DbHandle } from './db.js';
import { listEscalationPolicies, listSchedules, putNamed, startPages } from './oncall.repository.js';
import { appendOutbox } from './outbox.repository.js';

type PolicyRow = {
  id: string;
  name: string;
  version: number;
  enabled: boolean;
  position: number;
  spec: Record<string, unknown>;
};

export interface StoredSilence extends Silence {
  /** Alerts this silence muted at ingest. */
  readonly mutedCount: number;
}

type SilenceRow = {
  id: string;
  labels: unknown[];
  entities: unknown[];
  starts_at: Date;
  ends_at: Date;
  created_by: unknown;
  comment: string;
  muted_count: string;
};

export const toSilence = (row: SilenceRow): StoredSilence => ({
  id: row.id,
  labels: row.labels as LabelMatcher[],
  entities: row.entities as EntityMatcher[],
  startsAt: row.starts_at,
  endsAt: row.ends_at,
  createdBy: row.created_by as Actor,
  comment: row.comment,
  mutedCount: Number(row.muted_count),
});

const toPolicy = (row: PolicyRow): Policy => ({
  ...(row.spec as unknown as PolicySpec),
  id: row.id,
  name: row.name,
  version: row.version,
  enabled: row.enabled,
  position: row.position,
});

/** Tells every process's ingest cache that policies or silences changed (read once per batch). */
export async function bumpPolicyGeneration(trx: Db): Promise<void> {
  await trx.updateTable('policy_generation').set({ generation: sql`generation + 1` }).execute();
}

export async function listPolicies(db: Db): Promise<Policy[]> {
  return (await db.selectFrom('policies').selectAll().orderBy('position').orderBy('name').execute()).map(
    toPolicy,
  );
}

export async function getPolicy(db: Db, idOrName: string): Promise<Policy | null> {
  const isUuid = /^[0-9a-f-]{36}$/i.test(idOrName);
  const row = await db
    .selectFrom('policies')
    .selectAll()
    .where(isUuid ? 'id' : 'name', '=', idOrName)
    .executeTakeFirst();
  return row === undefined ? null : toPolicy(row);
}

export async function policyVersions(db: Db, policyId: string) {
  return db
    .selectFrom('policy_versions')
    .selectAll()
    .where('policy_id', '=', policyId)
    .orderBy('version')
    .execute();
}

/**
 * Creates, replaces (version + 1) or deletes one policy inside the caller's transaction. Every
 * version is kept in `policy_versions`; the audit row names the policy's ID and both versions.
 */
export async function putPolicy(
  trx: Db,
  name: string,
  spec: PolicySpec | null,
  position: number | null,
  actor: Actor,
  now: Date,
  /** Names the audit row and adds to its details, when the change has a reason of its own. */
  audit?: { readonly action: string; readonly details: Readonly<Record<string, unknown>> },
): Promise<Policy | null> {
  const before = await trx
    .selectFrom('policies')
    .selectAll()
    .where('name', '=', name)
    .forUpdate()
    .executeTakeFirst();
  let after: PolicyRow | null = null;
  if (spec === null) {
    if (before === undefined) return null;
    await trx.deleteFrom('policies').where('id', '=', before.id).execute();
  } else if (before === undefined) {
    after = await trx
      .insertInto('policies')
      .values({
        name,
        enabled: spec.enabled,
        spec: json(spec),
        position: position ?? sql<number>`coalesce((SELECT max(position) + 1 FROM policies), 0)`,
        updated_by: actorKey(actor),
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } else {
    after = await trx
      .updateTable('policies')
      .set({
        enabled: spec.enabled,
        spec: json(spec),
        version: sql`version + 1`,
        ...(position === null ? {} : { position }),
        updated_by: actorKey(actor),
        updated_at: now,
      })
      .where('id', '=', before.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }
  const id = (after ?? before)?.id as string;
  const change = spec === null ? 'deleted' : before === undefined ? 'created' : 'changed';
  const version = after?.version ?? (before?.version as number) + 1;
  await trx
    .insertInto('policy_versions')
    .values({
      policy_id: id,
      version,
      name,
      spec: spec === null ? null : json(spec),
      change,
      changed_by: actorKey(actor),
      changed_at: now,
    })
    .execute();
  await bumpPolicyGeneration(trx);
  await appendAudit(trx, [
    {
      alertId: null,
      actor,
      action: audit?.action ?? `policy.${change}`,
      details: {
        policyId: id,
        name,
        version,
        ...(before === undefined ? {} : { previousVersion: before.version }),
        ...audit?.details,
      },
      at: now,
    },
  ]);
  return after === null ? null : toPolicy(after);
}

/** Applies one API change in its own transaction. */
export async function savePolicy(
  handle: DbHandle,
  spec: PolicySpec | null,
  name: string,
  actor: Actor,
  now: Date,
) {
  return handle.db.transaction().execute((trx) => putPolicy(trx, name, spec, null, actor, now));
}

/** What `vigil policies apply` would change, per kind. */
export interface PoliciesFileDiff {
  readonly policies: NamedDiff<unknown, unknown>;
  readonly schedules: NamedDiff<unknown, unknown>;
  readonly escalationPolicies: NamedDiff<unknown, unknown>;
}

const stripIdentity = <T extends { id?: unknown; version?: unknown }>(value: T) => {
  const { id: _id, version: _version, ...rest } = value;
  return rest;
};

async function diffAgainst(trx: Db, file: PoliciesFile): Promise<PoliciesFileDiff> {
  const [policies, schedules, escalations] = await Promise.all([
    listPolicies(trx),
    listSchedules(trx),
    listEscalationPolicies(trx),
  ]);
  return {
    // Position is part of a policy: the order decides which policy names an alert.
    policies: diffByName(
      policies.map((p) => ({ name: p.name, value: stripIdentity(p) })),
      file.policies.map((p, position) => ({ name: p.name, value: { ...p, position } })),
    ),
    schedules: diffByName(
      schedules.map((s) => ({ name: s.name, value: stripIdentity(s) })),
      file.schedules.map((s) => ({ name: s.name, value: s })),
    ),
    escalationPolicies: diffByName(
      escalations.map((e) => ({ name: e.name, value: stripIdentity(e) })),
      file.escalationPolicies.map((e) => ({ name: e.name, value: e })),
    ),
  };
}

/**
 * Makes the stored policies, schedules and escalation policies exactly those of the file, in one
 * transaction (all or nothing), serialised with other applies by the generation row's lock. With
 * `dryRun` the difference is computed under the same lock and nothing is written.
 */
export async function applyPoliciesFile(
  handle: DbHandle,
  file: PoliciesFile,
  actor: Actor,
  now: Date,
  options: { dryRun: boolean },
): Promise<PoliciesFileDiff> {
  return handle.db.transaction().execute(async (trx) => {
    await trx.selectFrom('policy_generation').select('generation').forUpdate().execute();
    const diff = await diffAgainst(trx, file);
    if (options.dryRun) return diff;
    // Schedules before escalation policies before policies: each refers to the one before.
    for (const { name, value } of [
      ...diff.schedules.added,
      ...diff.schedules.changed.map((c) => ({ name: c.name, value: c.after })),
    ]) {
      await putNamed(trx, 'schedule', name, value as Schedule, actor, now);
    }
    for (const { name, value } of [
      ...diff.escalationPolicies.added,
      ...diff.escalationPolicies.changed.map((c) => ({ name: c.name, value: c.after })),
    ]) {
      await putNamed(trx, 'escalation_policy', name, value as EscalationPolicySpec, actor, now);
    }
    for (const { name, value } of [
      ...diff.policies.added,
      ...diff.policies.changed.map((c) => ({ name: c.name, value: c.after })),
    ]) {
      const { position, ...spec } = value as PolicySpec & { position: number };
      await putPolicy(trx, name, spec, position, actor, now);
    }
    for (const { name } of diff.policies.removed) await putPolicy(trx, name, null, null, actor, now);
    for (const { name } of diff.escalationPolicies.removed)
      await putNamed(trx, 'escalation_policy', name, null, actor, now);
    for (const { name } of diff.schedules.removed) await putNamed(trx, 'schedule', name, null, actor, now);
    await appendAudit(trx, [
      {
        alertId: null,
        actor,
        action: 'policies.applied',
        details: {
          policies: summary(diff.policies),
          schedules: summary(diff.schedules),
          escalationPolicies: summary(diff.escalationPolicies),
        },
        at: now,
      },
    ]);
    return diff;
  });
}

const summary = (diff: NamedDiff<unknown, unknown>) => ({
  added: diff.added.map((i) => i.name),
  changed: diff.changed.map((i) => i.name),
  removed: diff.removed.map((i) => i.name),
  unchanged: diff.unchanged.length,
});

/** Everything ingest needs to apply policies, compiled once per generation. */
interface PolicyRuntime {
  readonly generation: string;
  readonly index: PolicyIndex;
  readonly silences: readonly CompiledSilence[];
  readonly escalations: ReadonlyMap<string, EscalationPolicy>;
}

// Per schema (tests run many installs in one process); a process-local cache of Postgres state,
// checked against the generation each batch, so no process ever acts on stale policies.
const runtimes = new Map<string, PolicyRuntime>();

async function runtimeFor(
  trx: Db,
  schema: string,
  now: Date,
  known: string | undefined,
): Promise<PolicyRuntime> {
  const generation =
    known ??
    (await trx.selectFrom('policy_generation').select('generation').executeTakeFirstOrThrow()).generation;
  const cached = runtimes.get(schema);
  if (cached !== undefined && cached.generation === generation) return cached;
  const [policies, silences, escalations] = await Promise.all([
    listPolicies(trx),
    trx.selectFrom('silences').selectAll().where('ends_at', '>', now).execute(),
    listEscalationPolicies(trx),
  ]);
  const runtime: PolicyRuntime = {
    generation,
    index: new PolicyIndex(policies),
    silences: silences.map((s) => compileSilence(toSilence(s))),
    escalations: new Map(escalations.map((e) => [e.name, e])),
  };
  runtimes.set(schema, runtime);
  return runtime;
}

/**
 * Whether `applyPoliciesAtIngest` would record anything for these drafts, were they new alerts:
 * whether a policy or a silence matches one. When none does, ingest needs no transaction beyond
 * its one statement. `generation` as for `applyPoliciesAtIngest`.
 */
export async function policiesMatchAtIngest(
  db: Db,
  schema: string,
  drafts: readonly AlertDraft[],
  now: Date,
  generation?: string,
): Promise<boolean> {
  if (drafts.length === 0) return false;
  const runtime = await runtimeFor(db, schema, now, generation);
  if (runtime.index.size === 0 && runtime.silences.length === 0) return false;
  return drafts.some(
    (draft) => runtime.index.match(draft).length > 0 || silenceFor(runtime.silences, draft, now) !== null,
  );
}

/**
 * The policy and silence hook of ingest, called inside its transaction for newly created alerts.
 * Matching is in memory against the compiled cache (one query to check its generation, none when
 * the caller read `generation` in this transaction already); when
 * anything matched, a few set-based statements record it: the Vigil policy (beside the source's) and the muted
 * flag on the alerts, the silences' counts, route targets, pages (first step due now), auto
 * remediation jobs, and audit rows. Muted alerts are neither posted nor paged.
 */
export async function applyPoliciesAtIngest(
  trx: Db,
  schema: string,
  created: readonly { readonly alertId: string; readonly draft: AlertDraft }[],
  now: Date,
  generation?: string,
): Promise<void> {
  if (created.length === 0) return;
  const runtime = await runtimeFor(trx, schema, now, generation);
  if (runtime.index.size === 0 && runtime.silences.length === 0) return;
  const updates: { id: string; policyId: string | null; name: string | null; silenceId: string | null }[] =
    [];
  const routes: { alert_id: string; platform: string; target: string; policy_id: string }[] = [];
  const pages: { alertId: string; policyId: string; escalation: EscalationPolicy }[] = [];
  const outbox: OutboxMessage[] = [];
  const audit: AuditEntry[] = [];
  const mutedBy = new Map<string, number>();
  for (const { alertId, draft } of created) {
    const decision = decidePolicies(runtime.index.match(draft));
    const silence = silenceFor(runtime.silences, draft, now);
    const primary = decision.primary;
    if (primary === null && silence === null) continue;
    updates.push({
      id: alertId,
      policyId: primary?.id ?? null,
      name: primary?.name ?? null,
      silenceId: silence?.id ?? null,
    });
    if (silence !== null) {
      mutedBy.set(silence.id, (mutedBy.get(silence.id) ?? 0) + 1);
      audit.push({
        alertId,
        actor: { kind: 'system' },
        action: 'alert.muted',
        details: { silenceId: silence.id, comment: silence.comment },
        at: now,
      });
    }
    if (primary === null) continue;
    const actor: Actor = { kind: 'policy', policyId: primary.id, name: primary.name };
    audit.push({
      alertId,
      actor,
      action: 'policy.matched',
      details: {
        policies: decision.matched.map((p) => ({ policyId: p.id, name: p.name, version: p.version })),
      },
      at: now,
    });
    for (const channel of decision.routes.slack)
      routes.push({ alert_id: alertId, platform: 'slack', target: channel, policy_id: primary.id });
    for (const conversation of decision.routes.teams)
      routes.push({ alert_id: alertId, platform: 'teams', target: conversation, policy_id: primary.id });
    if (silence === null) {
      for (const page of decision.pages) {
        const escalation = runtime.escalations.get(page.escalationPolicy);
        if (escalation === undefined) {
          audit.push({
            alertId,
            actor,
            action: 'page.refused',
            details: { reason: `no escalation policy "${page.escalationPolicy}"` },
            at: now,
          });
        } else pages.push({ alertId, policyId: page.policy.id, escalation });
      }
    }
    for (const { policy, action } of decision.investigations) {
      audit.push({
        alertId,
        actor: { kind: 'policy', policyId: policy.id, name: policy.name },
        action: 'policy.investigation_requested',
        details: { policyId: policy.id, playbook: action.playbook, automation: action.automation },
        at: now,
      });
      // Started after this transaction commits, like any investigation (see startInvestigation).
      outbox.push({
        topic: 'policy_investigate',
        payload: {
          alertId,
          policyId: policy.id,
          policyName: policy.name,
          playbook: action.playbook,
          automation: action.automation,
        },
      });
    }
    if (decision.remediation !== null) {
      outbox.push({
        topic: 'policy_remediate',
        payload: { alertId, policyId: decision.remediation.policy.id },
      });
    }
  }
  if (updates.length === 0) return;
  // The source's policy name and link stay as it sent them; the Vigil policy goes beside them.
  await sql`UPDATE alerts SET
      vigil_policy_id = coalesce(v.policy_id::uuid, alerts.vigil_policy_id),
      vigil_policy_name = coalesce(v.name, alerts.vigil_policy_name),
      muted = v.silence_id IS NOT NULL,
      silence_id = v.silence_id::uuid
    FROM (VALUES ${sql.join(updates.map((u) => sql`(${u.id}::uuid, ${u.policyId}, ${u.name}, ${u.silenceId})`))})
      AS v(id, policy_id, name, silence_id)
    WHERE alerts.id = v.id`.execute(trx);
  if (mutedBy.size > 0) {
    await sql`UPDATE silences SET muted_count = muted_count + v.n
      FROM (VALUES ${sql.join([...mutedBy].map(([id, n]) => sql`(${id}::uuid, ${n}::bigint)`))}) AS v(id, n)
      WHERE silences.id = v.id`.execute(trx);
  }
  if (routes.length > 0) {
    await trx
      .insertInto('alert_routes')
      .values(routes)
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  const started = await startPages(trx, pages, now);
  await appendAudit(trx, [...audit, ...started.audit]);
  await appendOutbox(trx, [...outbox, ...started.outbox]);
}

/** Where policies sent an alert on one platform (read by the chat channels' `targetsFor`). */
export async function policyRouteTargets(
  db: Db,
  alertId: string,
  platform: 'slack' | 'teams',
): Promise<string[]> {
  const rows = await db
    .selectFrom('alert_routes')
    .select('target')
    .where('alert_id', '=', alertId)
    .where('platform', '=', platform)
    .orderBy('target')
    .execute();
  return rows.map((row) => row.target);
}
