import {
  ACTION_LABELS,
  type Actor,
  type AlertEntity,
  actorLabel,
  type CardAction,
  type CardAlert,
  type CardInvestigation,
  CLASSIFICATION_LABELS,
  CLASSIFICATIONS,
  type Classification,
  DETERMINATION_LABELS,
  DETERMINATIONS,
  type EntityKind,
  INVESTIGATION_STATUS_LABELS,
  incidentAlertsLine,
  OPEN_INVESTIGATION_STATUSES,
  type Severity,
  STATUS_LABELS,
} from '../../domain/index.js';
import { CARD_ACTIONS, encodeCardActionValue } from '../card-actions.js';
import {
  consoleAlertUrl,
  consoleIncidentUrl,
  consoleInvestigationUrl,
  consolePolicyUrl,
} from '../console-links.js';
import { cutPlain, escapeAndCut, escapeMrkdwn, link, mentionUser, safeUrl, slackDate } from './mrkdwn.js';

/** A Block Kit block; kept loose on purpose, Slack validates the shape and the tests check it. */
export type Block = Record<string, unknown>;

export interface SlackMessage {
  /** Notification and screen-reader text; Slack parses it as mrkdwn too, so it is escaped. */
  readonly text: string;
  readonly blocks: readonly Block[];
}

export interface RenderOptions {
  /** Vigil's public base URL, without a trailing slash. */
  readonly publicUrl: string;
}

/** Block Kit limits (docs.slack.dev/reference/block-kit): section text 3,000, a field 2,000, header 150, 50 blocks. */
export const LIMITS = {
  sectionText: 3000,
  fieldText: 2000,
  headerText: 150,
  blocks: 50,
  buttonText: 75,
  optionText: 75,
} as const;

const SEVERITY_MARK: Readonly<Record<Severity, string>> = {
  critical: ':red_circle:',
  high: ':large_orange_circle:',
  medium: ':large_yellow_circle:',
  low: ':large_blue_circle:',
  informational: ':white_circle:',
};

const ENTITY_LABELS: Partial<Record<EntityKind, string>> = {
  user: 'Users',
  device: 'Devices',
  ip: 'IPs',
  oauth_application: 'Apps',
  cloud_application: 'Apps',
  mailbox: 'Mailboxes',
  url: 'URLs',
  file: 'Files',
};
/** Entities shown per kind and overall; the rest are counted, the console shows them all. */
const ENTITY_CAP_PER_KIND = 5;
const ENTITY_KINDS_SHOWN = 6;

/** A person as a card names them: a Slack mention for Slack users (no ping from a context block), else their label. */
export function personLabel(actor: Actor): string {
  if (actor.kind === 'user' && actor.platform === 'slack') {
    const mention = mentionUser(actor.id);
    if (mention !== null) return mention;
  }
  return escapeMrkdwn(actorLabel(actor));
}

export function statusLine(alert: CardAlert): string {
  let line = `*${STATUS_LABELS[alert.status]}*`;
  if (alert.status === 'resolved' && alert.classification !== null) {
    line += ` as ${CLASSIFICATION_LABELS[alert.classification]}`;
  }
  if (alert.statusChangedBy !== null && alert.statusChangedAt !== null) {
    line += ` by ${personLabel(alert.statusChangedBy)}, ${slackDate(alert.statusChangedAt)}`;
  }
  return line;
}

const alertUrl = (alert: CardAlert, options: RenderOptions): string =>
  consoleAlertUrl(options.publicUrl, alert.id);

function button(text: string, actionId: string, alert: CardAlert, style?: 'primary' | 'danger'): Block {
  return {
    type: 'button',
    text: { type: 'plain_text', text: cutPlain(text, LIMITS.buttonText) },
    action_id: actionId,
    value: encodeCardActionValue({ alertId: alert.id, version: alert.version }),
    ...(style === undefined ? {} : { style }),
  };
}

/**
 * The buttons that make sense in the alert's status: an open alert can be started, resolved and
 * assigned; a resolved one only reopened. Offering Reopen on an open alert would be a click that
 * can only do nothing.
 */
export function cardButtons(alert: CardAlert, options: RenderOptions): Block[] {
  const buttons: Block[] = [];
  if (alert.status === 'new')
    buttons.push(button('Mark in progress', CARD_ACTIONS.startProgress, alert, 'primary'));
  if (alert.status !== 'resolved') {
    buttons.push(button('Resolve', CARD_ACTIONS.resolve, alert));
    buttons.push(button('Assign to me', CARD_ACTIONS.assignToMe, alert));
  } else {
    buttons.push(button('Reopen', CARD_ACTIONS.reopen, alert));
  }
  if (alert.incident !== undefined && alert.incident !== null && alert.incident.status !== 'resolved')
    buttons.push({
      type: 'button',
      text: { type: 'plain_text', text: 'Resolve incident' },
      action_id: CARD_ACTIONS.resolveIncident,
      value: alert.incident.id,
    });
  const url = safeUrl(alertUrl(alert, options));
  if (url !== null) {
    buttons.push({
      type: 'button',
      text: { type: 'plain_text', text: 'Open in Vigil' },
      url,
      action_id: 'alert.open',
    });
  }
  return buttons;
}

function entitySection(entities: readonly AlertEntity[]): Block | null {
  if (entities.length === 0) return null;
  const byLabel = new Map<string, string[]>();
  for (const entity of entities) {
    const label = ENTITY_LABELS[entity.kind] ?? 'Other';
    const names = byLabel.get(label) ?? [];
    names.push(entity.displayName || entity.key);
    byLabel.set(label, names);
  }
  const lines: string[] = [];
  for (const [label, names] of [...byLabel].slice(0, ENTITY_KINDS_SHOWN)) {
    const shown = names
      .slice(0, ENTITY_CAP_PER_KIND)
      .map((name) => `\`${escapeAndCut(name.replace(/`/g, "'"), 120)}\``);
    const more = names.length - shown.length;
    lines.push(`*${label}:* ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`);
  }
  const hiddenKinds = byLabel.size - ENTITY_KINDS_SHOWN;
  if (hiddenKinds > 0) lines.push(`_and ${hiddenKinds} more kinds of entity_`);
  return { type: 'section', text: { type: 'mrkdwn', text: escapeCutJoined(lines, LIMITS.sectionText) } };
}

/** Joins already-escaped lines, dropping whole lines that would pass the limit. */
function escapeCutJoined(lines: readonly string[], max: number): string {
  let out = '';
  for (const line of lines) {
    const next = out === '' ? line : `${out}\n${line}`;
    if (next.length > max) break;
    out = next;
  }
  return out;
}

/** Actions with Approve and Reject shown on one card, over all its investigations; the rest are counted. */
export const CARD_ACTIONS_SHOWN = 5;

const ACTION_STATUS_WORDS: Readonly<Record<CardAction['status'], string>> = {
  pending_approval: 'waiting for approval',
  approved: 'approved, about to run',
  running: 'running',
  done: 'done',
  failed: 'failed',
  rejected: 'rejected',
  cancelled: 'cancelled',
};

/** What one action is about, in one escaped line: kind, target and, where asked, why. */
export function actionLine(action: CardAction, withReason = true): string {
  const target = `\`${escapeAndCut(action.targetDisplay.replace(/`/g, "'"), 200)}\``;
  let line = `*${ACTION_LABELS[action.kind] ?? escapeMrkdwn(action.kind)}* ${target}`;
  if (action.status === 'pending_approval') {
    line += ` · approvals ${action.approvals}/${action.approvalsNeeded}`;
  } else {
    line += ` · ${ACTION_STATUS_WORDS[action.status]}`;
  }
  // A failure says why on the card itself: people should not need the server's log to know.
  if (action.status === 'failed' && action.error !== null && action.error.trim() !== '') {
    line += `: ${escapeAndCut(action.error.trim(), 500)}`;
  }
  if (withReason && action.reason.trim() !== '') line += `\n${escapeAndCut(action.reason.trim(), 1000)}`;
  return line;
}

const isOpenInvestigation = (investigation: CardInvestigation): boolean =>
  (OPEN_INVESTIGATION_STATUSES as readonly string[]).includes(investigation.status);

/**
 * The investigations of an alert on its card: a section per investigation (status, number, the
 * actions that are running or failed), then each action waiting for approval with its Approve and
 * Reject buttons, at most CARD_ACTIONS_SHOWN of them; and Investigate while none is open.
 */
export function investigationBlocks(alert: CardAlert, options: RenderOptions): Block[] {
  const blocks: Block[] = [];
  const investigations = alert.investigations ?? [];
  let shown = 0;
  let hidden = 0;
  for (const investigation of investigations) {
    const url = consoleInvestigationUrl(options.publicUrl, investigation.id);
    const lines = [
      `:mag: ${link(url, `Investigation #${investigation.number}`)} · *${INVESTIGATION_STATUS_LABELS[investigation.status] ?? escapeMrkdwn(investigation.status)}*`,
      ...investigation.actions
        .filter((action) => action.status !== 'pending_approval')
        .slice(0, 5)
        .map((action) => `• ${actionLine(action, false)}`),
    ];
    blocks.push({
      type: 'section',
      block_id: `investigation:${investigation.id}`,
      text: { type: 'mrkdwn', text: escapeCutJoined(lines, LIMITS.sectionText) },
    });
    for (const action of investigation.actions) {
      if (action.status !== 'pending_approval') continue;
      if (shown >= CARD_ACTIONS_SHOWN) {
        hidden += 1;
        continue;
      }
      shown += 1;
      blocks.push({
        type: 'section',
        block_id: `action-text:${action.id}`,
        text: { type: 'mrkdwn', text: cutJoinedText(actionLine(action), LIMITS.sectionText) },
      });
      blocks.push(decisionButtons(action.id));
    }
  }
  if (hidden > 0) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `+${hidden} more waiting for approval in Vigil` }],
    });
  }
  if (alert.status !== 'resolved' && !investigations.some(isOpenInvestigation)) {
    blocks.push({
      type: 'actions',
      block_id: `investigate:${alert.id}`,
      elements: [button('Investigate', CARD_ACTIONS.investigate, alert)],
    });
  }
  return blocks;
}

/** An already-escaped text cut to `max` at a line end where possible. */
function cutJoinedText(text: string, max: number): string {
  return text.length <= max ? text : escapeCutJoined(text.split('\n'), max) || text.slice(0, max);
}

/** The alert card: a pure function of the stored alert, so every post and update shows the same thing. */
export function renderAlertCard(alert: CardAlert, options: RenderOptions): SlackMessage {
  const severity = alert.severity.toUpperCase();
  const blocks: Block[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: cutPlain(`#${alert.number} ${alert.title}`, LIMITS.headerText),
        emoji: false,
      },
    },
  ];
  const fields: string[] = [
    `*Severity*\n${SEVERITY_MARK[alert.severity]} ${severity}`,
    `*Status*\n${statusLine(alert)}`,
    `*Source*\n${escapeAndCut(alert.source, 200)}`,
    `*Occurrences*\n${alert.occurrenceCount}`,
    `*First seen*\n${slackDate(alert.firstSeenAt)}`,
    `*Last seen*\n${slackDate(alert.lastSeenAt)}`,
    `*Assignee*\n${alert.assignee === null ? '_nobody_' : personLabel(alert.assignee)}`,
  ];
  // The policy the source named, with its link; a Vigil policy that acted, beside it.
  if (alert.policyName !== null || alert.policyUrl !== null) {
    const name = escapeAndCut(alert.policyName ?? 'policy', 500);
    const href = safeUrl(alert.policyUrl);
    fields.push(`*Policy*\n${name}${href === null ? '' : ` (${link(href, 'View policy')})`}`);
  }
  if (alert.vigilPolicy !== null) {
    const href = consolePolicyUrl(options.publicUrl, alert.vigilPolicy.id);
    fields.push(
      `*Vigil policy*\n${escapeAndCut(alert.vigilPolicy.name, 500)} (${link(href, 'View policy')})`,
    );
  }
  // A section holds at most 10 fields.
  blocks.push({ type: 'section', fields: fields.slice(0, 10).map((text) => ({ type: 'mrkdwn', text })) });
  if (alert.description.trim() !== '') {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: escapeAndCut(alert.description.trim(), LIMITS.sectionText) },
    });
  }
  if (alert.incident !== undefined && alert.incident !== null) {
    const href = consoleIncidentUrl(options.publicUrl, alert.incident.id);
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `*Incident:* ${link(href, cutPlain(alert.incident.name, 200))} · ${incidentAlertsLine(alert.incident)}`,
        },
      ],
    });
  }
  const entities = entitySection(alert.entities);
  if (entities !== null) blocks.push(entities);
  if (
    alert.status === 'resolved' &&
    alert.resolutionComment !== null &&
    alert.resolutionComment.trim() !== ''
  ) {
    blocks.push({
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: `Comment: ${escapeAndCut(alert.resolutionComment, LIMITS.fieldText)}` },
      ],
    });
  }
  const links = alert.links
    .map((item) => (safeUrl(item.url) === null ? null : link(item.url, cutPlain(item.title || item.url, 80))))
    .filter((item): item is string => item !== null)
    .slice(0, 5);
  if (links.length > 0)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: links.join(' · ') }] });
  blocks.push({ type: 'actions', block_id: `alert:${alert.id}`, elements: cardButtons(alert, options) });
  blocks.push(...investigationBlocks(alert, options));
  const text = escapeAndCut(
    `[${severity}] #${alert.number} ${alert.title} (${STATUS_LABELS[alert.status]})`,
    300,
  );
  return { text, blocks: blocks.slice(0, LIMITS.blocks) };
}

/** The modal the Resolve button opens; `private_metadata` carries what the submission needs. */
export const RESOLVE_MODAL_CALLBACK = 'alert.resolve.modal';
export const RESOLVE_BLOCKS = {
  classification: { block: 'classification', action: 'classification' },
  determination: { block: 'determination', action: 'determination' },
  comment: { block: 'comment', action: 'comment' },
} as const;

export interface ResolveModalMetadata {
  readonly alertId: string;
  readonly version: number;
  readonly channel: string | null;
}

export function renderResolveModal(
  alert: CardAlert,
  metadata: ResolveModalMetadata,
): Record<string, unknown> {
  return resolveForm(RESOLVE_MODAL_CALLBACK, `Resolve #${alert.number}`, alert.title, metadata);
}

/** The modal "Resolve incident" opens: one classification (and comment) for every alert of the incident. */
export const INCIDENT_RESOLVE_MODAL_CALLBACK = 'incident.resolve.modal';

export interface IncidentResolveModalMetadata {
  readonly incidentId: string;
  readonly channel: string | null;
}

export function renderIncidentResolveModal(
  incident: {
    readonly name: string;
    readonly alertCount: number;
    readonly alertStatuses: CardIncidentCounts;
  },
  metadata: IncidentResolveModalMetadata,
): Record<string, unknown> {
  return resolveForm(
    INCIDENT_RESOLVE_MODAL_CALLBACK,
    'Resolve incident',
    `${incident.name}\n${incidentAlertsLine(incident)}; every open one is resolved.`,
    metadata,
  );
}

type CardIncidentCounts = Parameters<typeof incidentAlertsLine>[0]['alertStatuses'];

function resolveForm(
  callbackId: string,
  title: string,
  heading: string,
  metadata: object,
): Record<string, unknown> {
  return {
    type: 'modal',
    callback_id: callbackId,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text', text: cutPlain(title, 24) },
    submit: { type: 'plain_text', text: 'Resolve' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${escapeAndCut(heading, 2900)}*` } },
      {
        type: 'input',
        block_id: RESOLVE_BLOCKS.classification.block,
        label: { type: 'plain_text', text: 'Classification' },
        element: {
          type: 'static_select',
          action_id: RESOLVE_BLOCKS.classification.action,
          placeholder: { type: 'plain_text', text: 'How was it?' },
          options: CLASSIFICATIONS.map((value) => ({
            text: { type: 'plain_text', text: cutPlain(CLASSIFICATION_LABELS[value], LIMITS.optionText) },
            value,
          })),
        },
      },
      {
        type: 'input',
        block_id: RESOLVE_BLOCKS.determination.block,
        optional: true,
        label: { type: 'plain_text', text: 'Determination' },
        element: {
          type: 'static_select',
          action_id: RESOLVE_BLOCKS.determination.action,
          placeholder: { type: 'plain_text', text: 'What was it?' },
          options: DETERMINATIONS.map((value) => ({
            text: { type: 'plain_text', text: cutPlain(DETERMINATION_LABELS[value], LIMITS.optionText) },
            value,
          })),
        },
      },
      {
        type: 'input',
        block_id: RESOLVE_BLOCKS.comment.block,
        optional: true,
        label: { type: 'plain_text', text: 'Comment' },
        element: {
          type: 'plain_text_input',
          action_id: RESOLVE_BLOCKS.comment.action,
          multiline: true,
          max_length: 3000,
        },
      },
    ],
  };
}

/** The thread reply that records one change under the card. */
export function renderChangeNote(entry: {
  readonly action: string;
  readonly actor: Actor;
  readonly details: Readonly<Record<string, unknown>>;
  readonly at: Date;
}): string {
  const who = personLabel(entry.actor);
  if (entry.action === 'alert.assigned') {
    const assignee = entry.details.assignee as Actor | undefined;
    return `${who} assigned this alert to ${assignee === undefined ? 'someone' : personLabel(assignee)} (${slackDate(entry.at)})`;
  }
  const to = entry.details.to as keyof typeof STATUS_LABELS | undefined;
  const classification = entry.details.classification as Classification | undefined;
  const comment = typeof entry.details.comment === 'string' ? entry.details.comment : '';
  let note = `${who} changed the status to *${to === undefined ? '?' : (STATUS_LABELS[to] ?? escapeMrkdwn(String(to)))}*`;
  if (classification !== undefined && CLASSIFICATION_LABELS[classification] !== undefined) {
    note += ` as ${CLASSIFICATION_LABELS[classification]}`;
  }
  note += ` (${slackDate(entry.at)})`;
  if (comment.trim() !== '') note += `\n> ${escapeAndCut(comment.trim(), 2000).replace(/\n/g, '\n> ')}`;
  return note;
}

/** One line per alert for lists (slash command, App Home). */
export function alertLine(alert: CardAlert, options: RenderOptions): string {
  const title = link(alertUrl(alert, options), cutPlain(alert.title, 120));
  return `${SEVERITY_MARK[alert.severity]} *#${alert.number}* ${title} · ${STATUS_LABELS[alert.status]} · ${escapeAndCut(alert.source, 60)}`;
}

export function renderAlertList(
  heading: string,
  alerts: readonly CardAlert[],
  options: RenderOptions,
): Block[] {
  const blocks: Block[] = [{ type: 'section', text: { type: 'mrkdwn', text: `*${escapeMrkdwn(heading)}*` } }];
  if (alerts.length === 0) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: '_None._' }] });
    return blocks;
  }
  // Lines of up to ~300 characters: ten per section keeps each under 3,000.
  for (let i = 0; i < alerts.length; i += 10) {
    const lines = alerts.slice(i, i + 10).map((alert) => alertLine(alert, options));
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: escapeCutJoined(lines, LIMITS.sectionText) },
    });
  }
  return blocks;
}

export function renderHome(
  mine: readonly CardAlert[],
  open: readonly CardAlert[],
  options: RenderOptions,
  /** Blocks shown first (the actions waiting for an approver's decision). */
  first: readonly Block[] = [],
): Record<string, unknown> {
  const blocks = [
    { type: 'header', text: { type: 'plain_text', text: 'Vigil' } },
    ...first,
    ...renderAlertList('Assigned to you', mine, options),
    { type: 'divider' },
    ...renderAlertList('Open alerts in Slack channels, most severe first', open, options),
  ];
  return { type: 'home', blocks: blocks.slice(0, 100) };
}

/** Approve and Reject for one pending action; the same on the alert card and in App Home. */
export function decisionButtons(actionId: string) {
  return {
    type: 'actions',
    block_id: `action:${actionId}`,
    elements: [
      {
        type: 'button',
        text: { type: 'plain_text', text: 'Approve' },
        action_id: CARD_ACTIONS.approve,
        value: actionId,
        style: 'primary',
      },
      {
        type: 'button',
        text: { type: 'plain_text', text: 'Reject' },
        action_id: CARD_ACTIONS.reject,
        value: actionId,
        style: 'danger',
      },
    ],
  } as const;
}
