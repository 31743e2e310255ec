import {
  ACTION_LABELS,
  type Actor,
  type AlertEntity,
  type CardAction,
  type CardAlert,
  type CardInvestigation,
  httpUrl,
  incidentAlertsLine,
  OPEN_INVESTIGATION_STATUSES,
} from '../../domain/index.js';
import { CARD_ACTIONS } from '../card-actions.js';
import {
  consoleAlertUrl,
  consoleIncidentUrl,
  consoleInvestigationUrl,
  consolePolicyUrl,
} from '../console-links.js';
import type {
  ActionLine,
  AlertCardModel,
  ButtonTarget,
  CardButton,
  CardFact,
  CardLink,
  EntityLine,
  FactKey,
  InvestigationSection,
  PendingAction,
  Run,
} from './types.js';
import {
  ACTION_STATUS_WORDS,
  BUTTON_WORDS,
  classificationWord,
  entityLabel,
  FACT_LABELS,
  investigationStatusWord,
  NOBODY,
  severityWord,
  statusWord,
} from './vocabulary.js';

export interface CardModelOptions {
  /** Vigil's public base URL, without a trailing slash. */
  readonly publicUrl: string;
}

/** How much one card shows; the rest is counted, and the console shows it all. */
export const CARD_CAPS = {
  entitiesPerKind: 5,
  entityKinds: 6,
  sourceLinks: 5,
  investigations: 3,
  settledActionsPerInvestigation: 5,
  /** Actions with Approve and Reject, over all the card's investigations. */
  pendingActions: 5,
} as const;

const link = (label: string, url: string | null | undefined): CardLink | null => {
  const href = httpUrl(url);
  return href === null ? null : { label, url: href };
};

const word = (text: string, strong?: true): Run => ({ kind: 'word', text, ...(strong ? { strong } : {}) });
const text = (value: string): Run => ({ kind: 'text', text: value });

const button = (
  id: CardButton['id'],
  label: string,
  target: ButtonTarget,
  emphasis: CardButton['emphasis'] = null,
): CardButton => ({ id, word: label, emphasis, target });

const fact = (key: FactKey, value: readonly Run[], factLink: CardLink | null = null): CardFact => ({
  key,
  label: FACT_LABELS[key],
  value,
  link: factLink,
});

/** Status, classification and who/when: `Resolved as False positive by Adele, <when>`. */
function statusRuns(alert: CardAlert): Run[] {
  const runs: Run[] = [word(statusWord(alert.status), true)];
  if (alert.status === 'resolved' && alert.classification !== null)
    runs.push(word(` as ${classificationWord(alert.classification)}`));
  if (alert.statusChangedBy !== null)
    runs.push(word(' by '), { kind: 'person', actor: alert.statusChangedBy });
  if (alert.statusChangedAt !== null) runs.push(word(', '), { kind: 'time', at: alert.statusChangedAt });
  return runs;
}

function facts(alert: CardAlert, options: CardModelOptions): CardFact[] {
  const list: CardFact[] = [
    fact('status', statusRuns(alert)),
    fact('source', [text(alert.source)]),
    fact('assignee', [alert.assignee === null ? word(NOBODY) : { kind: 'person', actor: alert.assignee }]),
  ];
  // The policy the source named, with its link; the Vigil policy that acted, beside it, never in its place.
  if (alert.policyName !== null || alert.policyUrl !== null)
    list.push(
      fact(
        'policy',
        [text(alert.policyName ?? 'Source policy')],
        link(BUTTON_WORDS.viewPolicy, alert.policyUrl),
      ),
    );
  if (alert.vigilPolicy !== null)
    list.push(
      fact(
        'vigilPolicy',
        [text(alert.vigilPolicy.name)],
        link(BUTTON_WORDS.viewPolicy, consolePolicyUrl(options.publicUrl, alert.vigilPolicy.id)),
      ),
    );
  list.push(
    fact('firstSeen', [{ kind: 'time', at: alert.firstSeenAt }]),
    fact('lastSeen', [{ kind: 'time', at: alert.lastSeenAt }]),
    fact('occurrences', [word(String(alert.occurrenceCount))]),
  );
  const comment = alert.resolutionComment?.trim() ?? '';
  if (alert.status === 'resolved' && comment !== '') list.push(fact('comment', [text(comment)]));
  return list;
}

function entityLines(entities: readonly AlertEntity[]): { lines: EntityLine[]; hiddenKinds: number } {
  const byLabel = new Map<string, string[]>();
  for (const entity of entities) {
    const label = entityLabel(entity.kind);
    const names = byLabel.get(label) ?? [];
    names.push(entity.displayName || entity.key);
    byLabel.set(label, names);
  }
  const lines = [...byLabel].slice(0, CARD_CAPS.entityKinds).map(([label, names]) => ({
    label,
    names: names.slice(0, CARD_CAPS.entitiesPerKind),
    hidden: Math.max(0, names.length - CARD_CAPS.entitiesPerKind),
  }));
  return { lines, hiddenKinds: Math.max(0, byLabel.size - CARD_CAPS.entityKinds) };
}

/**
 * The buttons that make sense in the alert's status: an open alert can be started, resolved and
 * assigned; a resolved one only reopened (Reopen on an open alert would be a click that can only
 * do nothing). An incident with open alerts can be resolved whole from any of its cards.
 */
function alertActions(alert: CardAlert): CardButton[] {
  const target: ButtonTarget = { kind: 'alert', alertId: alert.id, version: alert.version };
  const actions: CardButton[] = [];
  if (alert.status === 'new')
    actions.push(button(CARD_ACTIONS.startProgress, BUTTON_WORDS.startProgress, target, 'primary'));
  if (alert.status !== 'resolved') {
    actions.push(button(CARD_ACTIONS.resolve, BUTTON_WORDS.resolve, target));
    actions.push(button(CARD_ACTIONS.assignToMe, BUTTON_WORDS.assignToMe, target));
  } else {
    actions.push(button(CARD_ACTIONS.reopen, BUTTON_WORDS.reopen, target));
  }
  const incident = alert.incident ?? null;
  if (incident !== null && incident.status !== 'resolved')
    actions.push(
      button(CARD_ACTIONS.resolveIncident, BUTTON_WORDS.resolveIncident(incident.alertCount), {
        kind: 'incident',
        incidentId: incident.id,
        alertId: alert.id,
        version: alert.version,
      }),
    );
  return actions;
}

const actionLine = (action: CardAction): ActionLine => ({
  kindWord: ACTION_LABELS[action.kind] ?? action.kind,
  target: action.targetDisplay,
  statusWord: ACTION_STATUS_WORDS[action.status],
  error:
    action.status === 'failed' && action.error !== null && action.error.trim() !== ''
      ? action.error.trim()
      : null,
});

/** Approve and Reject for one pending action, on its alert's card or anywhere else (App Home). */
export function decisionButtons(
  actionId: string,
  alertId: string | null,
): { readonly approve: CardButton; readonly reject: CardButton } {
  const target: ButtonTarget = { kind: 'action', actionId, alertId };
  return {
    approve: button(CARD_ACTIONS.approve, BUTTON_WORDS.approve, target, 'primary'),
    reject: button(CARD_ACTIONS.reject, BUTTON_WORDS.reject, target, 'danger'),
  };
}

const pendingAction = (action: CardAction, alert: CardAlert): PendingAction => ({
  id: action.id,
  kindWord: ACTION_LABELS[action.kind] ?? action.kind,
  target: action.targetDisplay,
  reason: action.reason.trim(),
  approvalsWord: `approvals ${action.approvals}/${action.approvalsNeeded}`,
  ...decisionButtons(action.id, alert.id),
});

const isOpenInvestigation = (investigation: CardInvestigation): boolean =>
  (OPEN_INVESTIGATION_STATUSES as readonly string[]).includes(investigation.status);

/**
 * The alert's investigations: each with its status, its settled actions (running, done, failed:
 * why), and the actions waiting for approval with Approve and Reject, at most
 * CARD_CAPS.pendingActions over the card.
 */
function investigations(
  alert: CardAlert,
  options: CardModelOptions,
): { sections: InvestigationSection[]; hiddenPending: number } {
  let shown = 0;
  let hiddenPending = 0;
  const sections = (alert.investigations ?? []).slice(0, CARD_CAPS.investigations).map((investigation) => {
    const pending: PendingAction[] = [];
    for (const action of investigation.actions) {
      if (action.status !== 'pending_approval') continue;
      if (shown >= CARD_CAPS.pendingActions) {
        hiddenPending += 1;
        continue;
      }
      shown += 1;
      pending.push(pendingAction(action, alert));
    }
    const title = `Investigation #${investigation.number}`;
    return {
      id: investigation.id,
      title,
      statusWord: investigationStatusWord(investigation.status),
      link: link(title, consoleInvestigationUrl(options.publicUrl, investigation.id)),
      settled: investigation.actions
        .filter((action) => action.status !== 'pending_approval')
        .slice(0, CARD_CAPS.settledActionsPerInvestigation)
        .map(actionLine),
      pending,
    };
  });
  return { sections, hiddenPending };
}

/** One line for notifications and clients that cannot show the card: `[HIGH] #42 title (New)`. */
export const alertSummary = (alert: CardAlert): string =>
  `[${severityWord(alert.severity)}] #${alert.number} ${alert.title} (${statusWord(alert.status)})`;

/** The alert card as every platform shows it: a pure function of the stored alert. */
export function alertCardModel(alert: CardAlert, options: CardModelOptions): AlertCardModel {
  const entities = entityLines(alert.entities);
  const found = investigations(alert, options);
  const incident = alert.incident ?? null;
  const version = { kind: 'alert', alertId: alert.id, version: alert.version } as const;
  return {
    alertId: alert.id,
    number: alert.number,
    title: alert.title,
    severity: alert.severity,
    severityWord: severityWord(alert.severity),
    status: alert.status,
    statusWord: statusWord(alert.status),
    summary: alertSummary(alert),
    facts: facts(alert, options),
    description: alert.description.trim(),
    incident:
      incident === null
        ? null
        : {
            name: incident.name,
            alertsLine: incidentAlertsLine(incident),
            link: link(BUTTON_WORDS.openIncident, consoleIncidentUrl(options.publicUrl, incident.id)),
          },
    entities: entities.lines,
    hiddenEntityKinds: entities.hiddenKinds,
    sourceLinks: alert.links
      .map((item) => link(item.title || item.url, item.url))
      .filter((item): item is CardLink => item !== null)
      .slice(0, CARD_CAPS.sourceLinks),
    openInVigil: link(BUTTON_WORDS.openInVigil, consoleAlertUrl(options.publicUrl, alert.id)),
    actions: alertActions(alert),
    investigations: found.sections,
    morePending:
      found.hiddenPending > 0 ? `+${found.hiddenPending} more waiting for approval in Vigil` : null,
    investigate:
      alert.status !== 'resolved' && !(alert.investigations ?? []).some(isOpenInvestigation)
        ? button(CARD_ACTIONS.investigate, BUTTON_WORDS.investigate, version)
        : null,
  };
}

/** How one platform writes each kind of run; renderers differ only here. */
export interface RunStyle {
  word(text: string, strong: boolean): string;
  text(text: string): string;
  person(actor: Actor): string;
  time(at: Date): string;
}

function renderRun(run: Run, style: RunStyle): string {
  switch (run.kind) {
    case 'word':
      return style.word(run.text, run.strong === true);
    case 'text':
      return style.text(run.text);
    case 'person':
      return style.person(run.actor);
    case 'time':
      return style.time(run.at);
  }
}

export const renderRuns = (runs: readonly Run[], style: RunStyle): string =>
  runs.map((run) => renderRun(run, style)).join('');
