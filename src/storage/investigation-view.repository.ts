import type { Actor, CardInvestigation, InvestigationStatus } from '../domain/index.js';
import type { Db } from './db.js';
import { type ActionView, listActions } from './investigation-action.repository.js';

/** One investigation as a line in an alert's detail. */
export interface InvestigationSummary {
  readonly id: string;
  readonly number: string;
  readonly status: InvestigationStatus;
  readonly reason: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** The investigations an alert is part of, newest first. */
export async function investigationsOfAlert(db: Db, alertId: string): Promise<InvestigationSummary[]> {
  const rows = await db
    .selectFrom('investigation_alerts as ia')
    .innerJoin('investigations as i', 'i.id', 'ia.investigation_id')
    .select(['i.id', 'i.number', 'i.status', 'ia.reason', 'i.created_at', 'i.updated_at'])
    .where('ia.alert_id', '=', alertId)
    .orderBy('i.created_at', 'desc')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    number: row.number,
    status: row.status as InvestigationStatus,
    reason: row.reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }));
}

/**
 * The investigations of an alert as its cards show them: each with its actions that are waiting
 * for approval, running or failed (done and rejected ones are history, kept in the console).
 */
export async function cardInvestigations(db: Db, alertId: string): Promise<CardInvestigation[]> {
  const investigations = await investigationsOfAlert(db, alertId);
  return Promise.all(
    investigations.slice(0, 3).map(async (investigation) => {
      const actions = await listActions(db, {
        investigationId: investigation.id,
        statuses: ['pending_approval', 'approved', 'running', 'failed'],
        limit: 10,
      });
      return {
        id: investigation.id,
        number: investigation.number,
        status: investigation.status,
        actions: actions.map((action) => ({
          id: action.id,
          number: action.number,
          kind: action.kind,
          targetDisplay: action.target.displayName,
          reason: action.reason,
          status: action.status,
          approvalsNeeded: action.approvalsNeeded,
          approvals: action.decisions.filter((decision) => decision.decision === 'approve').length,
          error: action.error,
        })),
      };
    }),
  );
}

export interface GraphNode {
  readonly id: string;
  readonly type: 'alert' | 'entity';
  readonly label: string;
  readonly kind?: string;
  readonly verdict?: string;
  readonly severity?: string;
}

/**
 * The whole of one investigation, as Microsoft's investigation page has it: a graph of alerts and
 * entities, the alerts, devices, users, key findings, entities, the log, and pending actions.
 */
export interface InvestigationDetail {
  readonly id: string;
  readonly number: string;
  readonly status: InvestigationStatus;
  readonly triggerAlertId: string;
  readonly ruleId: string | null;
  readonly automation: string;
  readonly playbook: unknown;
  readonly scopeRound: number;
  readonly startedBy: Actor;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly finishedAt: Date | null;
  readonly graph: {
    readonly nodes: readonly GraphNode[];
    readonly edges: readonly { readonly from: string; readonly to: string }[];
  };
  readonly alerts: readonly {
    id: string;
    number: string;
    title: string;
    severity: string;
    status: string;
    source: string;
    reason: string;
    joinedAt: Date;
  }[];
  readonly entities: readonly EntityLine[];
  readonly devices: readonly EntityLine[];
  readonly users: readonly EntityLine[];
  readonly findings: readonly {
    stepKey: string;
    key: string;
    title: string;
    verdict: string;
    entity: { kind: string; key: string } | null;
    details: Record<string, unknown>;
    at: Date;
  }[];
  readonly log: readonly {
    stepKey: string;
    provider: string;
    attemptScope: string;
    startedAt: Date;
    endedAt: Date;
    outcome: string;
    error: string | null;
    summary: Record<string, unknown>;
  }[];
  readonly actions: readonly ActionView[];
  readonly pendingActions: readonly ActionView[];
}

export interface EntityLine {
  readonly kind: string;
  readonly key: string;
  readonly displayName: string;
  readonly verdict: string;
  readonly why: string;
  readonly attributes: Record<string, unknown>;
}

export async function getInvestigationDetail(db: Db, id: string): Promise<InvestigationDetail | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const inv = await db.selectFrom('investigations').selectAll().where('id', '=', id).executeTakeFirst();
  if (inv === undefined) return null;
  const [alerts, entities, links, findings, log, actions] = await Promise.all([
    db
      .selectFrom('investigation_alerts as ia')
      .innerJoin('alerts as a', 'a.id', 'ia.alert_id')
      .select([
        'a.id',
        'a.number',
        'a.title',
        'a.severity',
        'a.status',
        'a.source',
        'ia.reason',
        'ia.joined_at',
      ])
      .where('ia.investigation_id', '=', id)
      .orderBy('ia.joined_at')
      .execute(),
    db
      .selectFrom('investigation_entities')
      .selectAll()
      .where('investigation_id', '=', id)
      .orderBy('kind')
      .orderBy('key')
      .execute(),
    db
      .selectFrom('investigation_entities')
      .select(['kind', 'key', 'source_alert_id'])
      .where('investigation_id', '=', id)
      .where('source_alert_id', 'is not', null)
      .execute(),
    // A step that ran again for a grown scope finds some things again: show each finding once, latest first.
    db
      .selectFrom('findings')
      .selectAll()
      .distinctOn(['step_key', 'key'])
      .where('investigation_id', '=', id)
      .orderBy('step_key')
      .orderBy('key')
      .orderBy('id', 'desc')
      .execute(),
    db.selectFrom('step_log').selectAll().where('investigation_id', '=', id).orderBy('id').execute(),
    listActions(db, { investigationId: id }),
  ]);
  const entityLines: EntityLine[] = entities.map((row) => ({
    kind: row.kind,
    key: row.key,
    displayName: row.display_name,
    verdict: row.verdict,
    why: row.why,
    attributes: row.attributes,
  }));
  const nodes: GraphNode[] = [
    ...alerts.map((alert) => ({
      id: `alert:${alert.id}`,
      type: 'alert' as const,
      label: `#${alert.number} ${alert.title}`,
      severity: alert.severity,
    })),
    ...entityLines.map((entity) => ({
      id: `${entity.kind}:${entity.key}`,
      type: 'entity' as const,
      label: entity.displayName,
      kind: entity.kind,
      verdict: entity.verdict,
    })),
  ];
  return {
    id: inv.id,
    number: inv.number,
    status: inv.status as InvestigationStatus,
    triggerAlertId: inv.trigger_alert_id,
    ruleId: inv.rule_id,
    automation: inv.automation,
    playbook: inv.playbook,
    scopeRound: inv.scope_round,
    startedBy: inv.started_by as Actor,
    createdAt: inv.created_at,
    updatedAt: inv.updated_at,
    finishedAt: inv.finished_at,
    graph: {
      nodes,
      edges: links.map((link) => ({ from: `alert:${link.source_alert_id}`, to: `${link.kind}:${link.key}` })),
    },
    alerts: alerts.map((alert) => ({
      id: alert.id,
      number: alert.number,
      title: alert.title,
      severity: alert.severity,
      status: alert.status,
      source: alert.source,
      reason: alert.reason,
      joinedAt: alert.joined_at,
    })),
    entities: entityLines,
    devices: entityLines.filter((entity) => entity.kind === 'device'),
    users: entityLines.filter((entity) => entity.kind === 'user'),
    findings: findings.map((finding) => ({
      stepKey: finding.step_key,
      key: finding.key,
      title: finding.title,
      verdict: finding.verdict,
      entity:
        finding.entity_kind === null || finding.entity_key === null
          ? null
          : { kind: finding.entity_kind, key: finding.entity_key },
      details: finding.details,
      at: finding.created_at,
    })),
    log: log.map((step) => ({
      stepKey: step.step_key,
      provider: step.provider,
      attemptScope: step.attempt_scope,
      startedAt: step.started_at,
      endedAt: step.ended_at,
      outcome: step.outcome,
      error: step.error,
      summary: step.summary,
    })),
    actions,
    pendingActions: actions.filter((action) => action.status === 'pending_approval'),
  };
}
