import {
  ACTION_LABELS,
  type Actor,
  actorLabel,
  type CardAction,
  type CardAlert,
  type CardInvestigation,
  CLASSIFICATION_LABELS,
  CLASSIFICATIONS,
  DETERMINATION_LABELS,
  DETERMINATIONS,
  type EntityKind,
  INVESTIGATION_STATUS_LABELS,
  incidentAlertsLine,
  OPEN_INVESTIGATION_STATUSES,
  type Severity,
  STATUS_LABELS,
} from '../../domain/index.js';
import { CARD_ACTIONS } from '../card-actions.js';
import {
  consoleAlertUrl,
  consoleIncidentUrl,
  consoleInvestigationUrl,
  consolePolicyUrl,
} from '../console-links.js';
import { cardTime, cut, httpUrl, inert, neutralise } from './card-text.js';

/**
 * The alert card as an Adaptive Card 1.5 (the version Action.Execute needs), a pure function of
 * the alert. Kept loosely typed: the official `adaptivecards` package validates every card the
 * tests produce.
 */
export type AdaptiveCard = Readonly<Record<string, unknown>>;
type Element = Record<string, unknown>;

export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

export interface RenderOptions {
  /** Vigil's public base URL, without a trailing slash. */
  readonly publicUrl: string;
}

/** Something to tell the person who clicked, shown above the alert (a refusal and why). */
export interface CardNotice {
  readonly style: 'warning' | 'attention' | 'good';
  readonly text: string;
}

/** Teams keeps messages under about 100 KB; these caps keep a card far below even with hostile input. */
export const CARD_LIMITS = {
  title: 300,
  description: 1500,
  fact: 300,
  entitiesShown: 15,
  entityName: 200,
  comment: 500,
  /** Actions shown across all of the alert's investigations; the rest are counted. */
  actionsShown: 5,
  investigationsShown: 3,
  actionTarget: 200,
  actionReason: 400,
} as const;

/** The Reject button's reason box: one per card, sent with whichever Reject is clicked. */
export const REASON_INPUT_ID = 'reason';

const SEVERITY_LOOK: Readonly<Record<Severity, { label: string; color: string; style: string }>> = {
  critical: { label: 'CRITICAL', color: 'Attention', style: 'attention' },
  high: { label: 'HIGH', color: 'Attention', style: 'warning' },
  medium: { label: 'MEDIUM', color: 'Warning', style: 'emphasis' },
  low: { label: 'LOW', color: 'Accent', style: 'emphasis' },
  informational: { label: 'INFORMATIONAL', color: 'Default', style: 'emphasis' },
};

const ENTITY_LABELS: Partial<Record<EntityKind, string>> = {
  user: 'User',
  device: 'Device',
  ip: 'IP',
  file: 'File',
  process: 'Process',
  url: 'URL',
  mailbox: 'Mailbox',
  oauth_application: 'App',
  cloud_application: 'App',
};

const person = (actor: Actor): string => inert(actorLabel(actor), 100);

/** Status, classification and who/when, as one line: `Resolved (False positive) by Adele, 2026-11-23 10:30 UTC`. */
export function statusLine(alert: CardAlert): string {
  let line = STATUS_LABELS[alert.status];
  if (alert.status === 'resolved' && alert.classification !== null) {
    line += ` (${CLASSIFICATION_LABELS[alert.classification]})`;
  }
  if (alert.statusChangedBy !== null) line += ` by ${person(alert.statusChangedBy)}`;
  if (alert.statusChangedAt !== null) line += `, ${cardTime(alert.statusChangedAt)}`;
  return line;
}

const textRun = (text: string, extra: Element = {}): Element => ({ type: 'TextRun', text, ...extra });
// RichTextBlock + TextRun: never parsed as markdown, so source text is shown exactly as sent.
const plain = (text: string, extra: Element = {}): Element => ({
  type: 'RichTextBlock',
  inlines: [textRun(text, extra)],
});

const actionData = (alert: CardAlert): Element => ({ alertId: alert.id, version: alert.version });

function execute(title: string, verb: string, alert: CardAlert, style?: 'positive' | 'destructive'): Element {
  return {
    type: 'Action.Execute',
    title,
    verb,
    data: actionData(alert),
    ...(style === undefined ? {} : { style }),
  };
}

/** Resolve opens a small form on the card: a classification (required) and an optional comment. */
function resolveAction(alert: CardAlert): Element {
  return {
    type: 'Action.ShowCard',
    title: 'Resolve',
    card: {
      type: 'AdaptiveCard',
      body: [
        {
          type: 'Input.ChoiceSet',
          id: 'classification',
          label: 'Classification',
          style: 'expanded',
          isRequired: true,
          errorMessage: 'Choose a classification',
          choices: CLASSIFICATIONS.map((value) => ({ title: CLASSIFICATION_LABELS[value], value })),
        },
        {
          type: 'Input.ChoiceSet',
          id: 'determination',
          label: 'Determination (optional)',
          style: 'compact',
          choices: DETERMINATIONS.map((value) => ({ title: DETERMINATION_LABELS[value], value })),
        },
        {
          type: 'Input.Text',
          id: 'comment',
          label: 'Comment (optional)',
          isMultiline: true,
          maxLength: 2000,
        },
      ],
      actions: [
        execute('Resolve', CARD_ACTIONS.resolve, alert, 'positive'),
        // The same form resolves the alert's whole Defender incident (a card holds at most five actions).
        ...(alert.incident === undefined || alert.incident === null || alert.incident.status === 'resolved'
          ? []
          : [
              execute(
                `Resolve incident (${alert.incident.alertCount} alerts)`,
                CARD_ACTIONS.resolveIncident,
                alert,
              ),
            ]),
      ],
    },
  };
}

/**
 * The actions that make sense in the alert's status, as on the Slack card: an open alert can be
 * started, resolved and assigned; a resolved one only reopened.
 */
export function cardActions(alert: CardAlert, options: RenderOptions): Element[] {
  const actions: Element[] = [];
  if (alert.status === 'new')
    actions.push(execute('Mark in progress', CARD_ACTIONS.startProgress, alert, 'positive'));
  if (alert.status !== 'resolved') {
    actions.push(resolveAction(alert));
    actions.push(execute('Assign to me', CARD_ACTIONS.assignToMe, alert));
  } else {
    actions.push(execute('Reopen', CARD_ACTIONS.reopen, alert));
  }
  // The source's policy link (a Vigil policy that acted links from its name: see vigilPolicyLine).
  const policyUrl = httpUrl(alert.policyUrl);
  if (policyUrl !== null) actions.push({ type: 'Action.OpenUrl', title: 'View policy', url: policyUrl });
  const alertUrl = httpUrl(consoleAlertUrl(options.publicUrl, alert.id));
  if (alertUrl !== null) actions.push({ type: 'Action.OpenUrl', title: 'Open in Vigil', url: alertUrl });
  return actions;
}

/**
 * The Vigil policy that acted, beside the source's policy: its name opens the policy in the
 * console (a linked text run, since a card holds at most five actions).
 */
function vigilPolicyLine(alert: CardAlert, options: RenderOptions): Element[] {
  if (alert.vigilPolicy === null) return [];
  const url = httpUrl(consolePolicyUrl(options.publicUrl, alert.vigilPolicy.id));
  return [
    {
      type: 'RichTextBlock',
      inlines: [
        textRun('Vigil policy: ', { weight: 'Bolder' }),
        textRun(cut(alert.vigilPolicy.name, CARD_LIMITS.fact), {
          ...(url === null ? {} : { selectAction: { type: 'Action.OpenUrl', title: 'View policy', url } }),
        }),
      ],
    },
  ];
}

/** The Defender incident the alert belongs to: its name (opening it in the console) and how its alerts stand. */
function incidentLine(alert: CardAlert, options: RenderOptions): Element[] {
  if (alert.incident === undefined || alert.incident === null) return [];
  const url = httpUrl(consoleIncidentUrl(options.publicUrl, alert.incident.id));
  return [
    {
      type: 'RichTextBlock',
      inlines: [
        textRun('Incident: ', { weight: 'Bolder' }),
        textRun(cut(alert.incident.name, CARD_LIMITS.fact), {
          ...(url === null ? {} : { selectAction: { type: 'Action.OpenUrl', title: 'Open incident', url } }),
        }),
        textRun(` · ${incidentAlertsLine(alert.incident)}`),
      ],
    },
  ];
}

function facts(alert: CardAlert): Element {
  const list: { title: string; value: string }[] = [
    { title: 'Status', value: statusLine(alert) },
    { title: 'Source', value: inert(alert.source, CARD_LIMITS.fact) },
  ];
  if (alert.status === 'resolved' && alert.resolutionComment !== null && alert.resolutionComment !== '') {
    list.push({ title: 'Comment', value: inert(alert.resolutionComment, CARD_LIMITS.comment) });
  }
  list.push({ title: 'Assignee', value: alert.assignee === null ? 'Nobody' : person(alert.assignee) });
  if (alert.policyName !== null)
    list.push({ title: 'Policy', value: inert(alert.policyName, CARD_LIMITS.fact) });
  list.push(
    { title: 'First seen', value: cardTime(alert.firstSeenAt) },
    { title: 'Last seen', value: cardTime(alert.lastSeenAt) },
    { title: 'Occurrences', value: String(alert.occurrenceCount) },
  );
  return { type: 'FactSet', facts: list };
}

function entities(alert: CardAlert): Element[] {
  if (alert.entities.length === 0) return [];
  const shown = alert.entities.slice(0, CARD_LIMITS.entitiesShown);
  const inlines: Element[] = [];
  shown.forEach((entity, index) => {
    const label = ENTITY_LABELS[entity.kind] ?? entity.kind;
    if (index > 0) inlines.push(textRun('\n'));
    inlines.push(textRun(`${label}: `, { weight: 'Bolder' }));
    inlines.push(
      textRun(cut(entity.displayName || entity.key, CARD_LIMITS.entityName), { fontType: 'Monospace' }),
    );
  });
  const more = alert.entities.length - shown.length;
  if (more > 0) inlines.push(textRun(`\nand ${more} more`, { isSubtle: true }));
  return [
    { type: 'TextBlock', text: 'Entities', weight: 'Bolder', spacing: 'Medium' },
    { type: 'RichTextBlock', inlines },
  ];
}

const ACTION_STATUS_LABELS: Readonly<Record<CardAction['status'], string>> = {
  pending_approval: 'Pending approval',
  approved: 'Approved',
  rejected: 'Rejected',
  running: 'Running',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

const isOpenInvestigation = (investigation: CardInvestigation): boolean =>
  (OPEN_INVESTIGATION_STATUSES as readonly string[]).includes(investigation.status);

/** Approve and Reject carry the action, and the alert whose card they are on (to answer with it). */
const decisionData = (action: CardAction, alert: CardAlert): Element => ({
  actionId: action.id,
  alertId: alert.id,
});

function pendingAction(action: CardAction, alert: CardAlert): Element[] {
  return [
    {
      type: 'RichTextBlock',
      inlines: [
        textRun(`${ACTION_LABELS[action.kind]}: `, { weight: 'Bolder' }),
        textRun(cut(action.targetDisplay, CARD_LIMITS.actionTarget), { fontType: 'Monospace' }),
      ],
    },
    ...(action.reason.trim() === ''
      ? []
      : [plain(cut(action.reason.replace(/\r\n?/g, '\n'), CARD_LIMITS.actionReason), { isSubtle: true })]),
    plain(`Approvals ${action.approvals}/${action.approvalsNeeded}`, { size: 'Small' }),
    {
      type: 'ActionSet',
      actions: [
        {
          type: 'Action.Execute',
          title: 'Approve',
          verb: CARD_ACTIONS.approve,
          data: decisionData(action, alert),
          style: 'positive',
          // Approving needs no reason: the reason box is neither sent nor checked.
          associatedInputs: 'none',
        },
        {
          type: 'Action.Execute',
          title: 'Reject',
          verb: CARD_ACTIONS.reject,
          data: decisionData(action, alert),
          style: 'destructive',
        },
      ],
    },
  ];
}

function settlingAction(action: CardAction): Element {
  return {
    type: 'RichTextBlock',
    inlines: [
      textRun(`${ACTION_LABELS[action.kind]}: `, { weight: 'Bolder' }),
      textRun(cut(action.targetDisplay, CARD_LIMITS.actionTarget), { fontType: 'Monospace' }),
      textRun(` (${ACTION_STATUS_LABELS[action.status]})`, { isSubtle: true }),
      // A failure says why on the card itself: people should not need the server's log to know.
      ...(action.status === 'failed' && action.error !== null && action.error.trim() !== ''
        ? [textRun(`: ${cut(action.error.trim(), CARD_LIMITS.actionReason)}`, { isSubtle: true })]
        : []),
    ],
  };
}

/**
 * The alert's investigations: Investigate on an open alert no open investigation covers yet, and
 * per investigation its status and unsettled actions, pending ones with Approve and Reject and
 * one reason box for rejecting. At most `actionsShown` actions across the card.
 */
export function investigationSection(alert: CardAlert, options: RenderOptions): Element[] {
  const investigations = (alert.investigations ?? []).slice(0, CARD_LIMITS.investigationsShown);
  const items: Element[] = [];
  let shown = 0;
  let hidden = 0;
  let pending = 0;
  for (const investigation of investigations) {
    const lines: Element[] = [
      {
        type: 'TextBlock',
        text: `Investigation #${investigation.number} · ${INVESTIGATION_STATUS_LABELS[investigation.status]}`,
        weight: 'Bolder',
        wrap: true,
      },
    ];
    for (const action of investigation.actions) {
      if (shown >= CARD_LIMITS.actionsShown) {
        hidden++;
        continue;
      }
      shown++;
      if (action.status === 'pending_approval') {
        pending++;
        lines.push({
          type: 'Container',
          spacing: 'Small',
          separator: true,
          items: pendingAction(action, alert),
        });
      } else {
        lines.push(settlingAction(action));
      }
    }
    const url = httpUrl(consoleInvestigationUrl(options.publicUrl, investigation.id));
    items.push({
      type: 'Container',
      spacing: 'Medium',
      separator: true,
      items: lines,
      // A tap on the investigation opens its page in the console.
      ...(url === null ? {} : { selectAction: { type: 'Action.OpenUrl', title: 'Open investigation', url } }),
    });
  }
  if (hidden > 0)
    items.push(plain(`and ${hidden} more action(s): open the investigation in Vigil`, { isSubtle: true }));
  if (pending > 0) {
    items.push({
      type: 'Input.Text',
      id: REASON_INPUT_ID,
      label: 'Reason (needed to reject)',
      placeholder: 'Why this action should not run',
      maxLength: 500,
    });
  }
  const investigating = investigations.some(isOpenInvestigation);
  if (alert.status !== 'resolved' && !investigating) {
    items.push({
      type: 'ActionSet',
      actions: [execute('Investigate', CARD_ACTIONS.investigate, alert)],
    });
  }
  return items;
}

/** The one-line text Teams shows in notifications and where cards cannot render. */
export const cardSummary = (alert: CardAlert): string =>
  cut(
    `[${SEVERITY_LOOK[alert.severity].label}] #${alert.number} ${alert.title} (${STATUS_LABELS[alert.status]})`,
    200,
  );

/** Renders the alert card; `notice` adds a banner for the person who clicked (a refusal and why). */
export function renderAlertCard(alert: CardAlert, options: RenderOptions, notice?: CardNotice): AdaptiveCard {
  const look = SEVERITY_LOOK[alert.severity];
  const body: Element[] = [];
  if (notice !== undefined) {
    body.push({
      type: 'Container',
      style: notice.style,
      items: [{ type: 'TextBlock', text: inert(notice.text, 500), wrap: true, weight: 'Bolder' }],
    });
  }
  body.push({
    type: 'Container',
    style: look.style,
    bleed: true,
    items: [
      {
        type: 'TextBlock',
        text: `${look.label} · Alert #${alert.number}`,
        weight: 'Bolder',
        color: look.color,
        size: 'Small',
        wrap: true,
      },
      plain(cut(alert.title, CARD_LIMITS.title), { size: 'Large', weight: 'Bolder' }),
    ],
  });
  body.push(facts(alert), ...vigilPolicyLine(alert, options), ...incidentLine(alert, options));
  if (alert.description.trim() !== '') {
    body.push({
      ...plain(cut(alert.description.replace(/\r\n?/g, '\n'), CARD_LIMITS.description)),
      spacing: 'Medium',
    });
  }
  body.push(...entities(alert));
  body.push(...investigationSection(alert, options));
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    fallbackText: cardSummary(alert),
    msteams: { width: 'Full' },
    body,
    actions: cardActions(alert, options),
  };
}

/** A card for when there is no alert to show (deleted, or a typo in `alert 42`). */
export function renderMessageCard(text: string, style: CardNotice['style'] = 'warning'): AdaptiveCard {
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body: [{ type: 'Container', style, items: [{ type: 'TextBlock', text: neutralise(text), wrap: true }] }],
  };
}
