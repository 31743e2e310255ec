import {
  type Actor,
  actorLabel,
  type CardAlert,
  CLASSIFICATION_LABELS,
  CLASSIFICATIONS,
  type EntityKind,
  type Severity,
  STATUS_LABELS,
} from '../../domain/index.js';
import { CARD_ACTIONS } from '../card-actions.js';
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
} as const;

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
          type: 'Input.Text',
          id: 'comment',
          label: 'Comment (optional)',
          isMultiline: true,
          maxLength: 2000,
        },
      ],
      actions: [execute('Resolve', CARD_ACTIONS.resolve, alert, 'positive')],
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
  const policyUrl = httpUrl(alert.policyUrl);
  if (policyUrl !== null) actions.push({ type: 'Action.OpenUrl', title: 'View policy', url: policyUrl });
  const alertUrl = httpUrl(`${options.publicUrl}/api/alerts/${alert.id}`);
  if (alertUrl !== null) actions.push({ type: 'Action.OpenUrl', title: 'Open in Vigil', url: alertUrl });
  return actions;
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
  body.push(facts(alert));
  if (alert.description.trim() !== '') {
    body.push({
      ...plain(cut(alert.description.replace(/\r\n?/g, '\n'), CARD_LIMITS.description)),
      spacing: 'Medium',
    });
  }
  body.push(...entities(alert));
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
