import {
  type Actor,
  actorLabel,
  type CardAlert,
  CLASSIFICATION_LABELS,
  CLASSIFICATIONS,
  type Classification,
  DETERMINATION_LABELS,
  DETERMINATIONS,
  incidentAlertsLine,
  type Severity,
} from '../../domain/index.js';
import { encodeCardActionValue } from '../card-actions.js';
import {
  type AlertCardModel,
  alertCardModel,
  type ButtonTarget,
  type CardButton,
  type CardFact,
  decisionButtons as decisionButtonsFor,
  type FormButton,
  type FormField,
  type PendingAction,
  type RemediationNoticeModel,
  type RunStyle,
  renderRuns,
  statusWord,
} from '../card-model/index.js';
import { consoleAlertUrl } from '../console-links.js';
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

/** A person as a card names them: a Slack mention for Slack users (no ping from a context block), else their label. */
export function personLabel(actor: Actor): string {
  if (actor.kind === 'user' && actor.platform === 'slack') {
    const mention = mentionUser(actor.id);
    if (mention !== null) return mention;
  }
  return escapeMrkdwn(actorLabel(actor));
}

/** The model's runs in mrkdwn: Vigil's words as they are, outside text escaped and cut. */
const runStyle = (max: number): RunStyle => ({
  word: (text, strong) => (strong ? `*${text}*` : text),
  text: (text) => escapeAndCut(text, max),
  person: personLabel,
  time: slackDate,
});

/** What a button carries, exactly as cards already posted carry it (card-actions.ts). */
function buttonValue(target: ButtonTarget): string {
  switch (target.kind) {
    case 'alert':
      return encodeCardActionValue(target);
    case 'incident':
      return target.incidentId;
    case 'action':
      return target.actionId;
    case 'remediation':
      return target.remediationId;
  }
}

function slackButton(button: CardButton): Block {
  return {
    type: 'button',
    text: { type: 'plain_text', text: cutPlain(button.word, LIMITS.buttonText) },
    action_id: button.id,
    value: buttonValue(button.target),
    ...(button.emphasis === null ? {} : { style: button.emphasis }),
  };
}

function cardButtons(model: AlertCardModel): Block[] {
  const buttons = model.actions.map(slackButton);
  const url = safeUrl(model.openInVigil?.url);
  if (url !== null && model.openInVigil !== null) {
    buttons.push({
      type: 'button',
      text: { type: 'plain_text', text: model.openInVigil.label },
      url,
      action_id: 'alert.open',
    });
  }
  return buttons;
}

/** A fact as a field: its label, its value and, where it has one, its link. */
function field(fact: CardFact): string {
  const value = renderRuns(fact.value, runStyle(500));
  const href = fact.link === null ? null : link(fact.link.url, fact.link.label);
  return `*${fact.label}*\n${value}${href === null ? '' : ` (${href})`}`;
}

function entitySection(model: AlertCardModel): Block | null {
  if (model.entities.length === 0) return null;
  const lines = model.entities.map((line) => {
    const shown = line.names.map((name) => `\`${escapeAndCut(name.replace(/`/g, "'"), 120)}\``);
    return `*${line.label}:* ${shown.join(', ')}${line.hidden > 0 ? ` and ${line.hidden} more` : ''}`;
  });
  if (model.hiddenEntityKinds > 0) lines.push(`_and ${model.hiddenEntityKinds} more kinds of entity_`);
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

const target = (value: string): string => `\`${escapeAndCut(value.replace(/`/g, "'"), 200)}\``;

/** A pending action in one escaped line, then why it was proposed. */
function pendingText(action: PendingAction): string {
  const line = `*${escapeMrkdwn(action.kindWord)}* ${target(action.target)} · ${action.approvalsWord}`;
  return action.reason === '' ? line : `${line}\n${escapeAndCut(action.reason, 1000)}`;
}

/**
 * The investigations of an alert on its card: a section per investigation (status, number, the
 * actions that are running or failed), then each action waiting for approval with its Approve and
 * Reject buttons; and Investigate while none is open.
 */
function investigationBlocks(model: AlertCardModel): Block[] {
  const blocks: Block[] = [];
  for (const investigation of model.investigations) {
    const lines = [
      `:mag: ${link(investigation.link?.url, investigation.title)} · *${escapeMrkdwn(investigation.statusWord)}*`,
      ...investigation.settled.map(
        (action) =>
          `• *${escapeMrkdwn(action.kindWord)}* ${target(action.target)} · ${action.statusWord}${action.error === null ? '' : `: ${escapeAndCut(action.error, 500)}`}`,
      ),
    ];
    blocks.push({
      type: 'section',
      block_id: `investigation:${investigation.id}`,
      text: { type: 'mrkdwn', text: escapeCutJoined(lines, LIMITS.sectionText) },
    });
    for (const action of investigation.pending) {
      blocks.push({
        type: 'section',
        block_id: `action-text:${action.id}`,
        text: { type: 'mrkdwn', text: cutJoinedText(pendingText(action), LIMITS.sectionText) },
      });
      blocks.push(decisionBlock(action.id, action));
    }
  }
  if (model.morePending !== null) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: model.morePending }] });
  }
  if (model.investigate !== null) {
    blocks.push({
      type: 'actions',
      block_id: `investigate:${model.alertId}`,
      elements: [slackButton(model.investigate)],
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
  return drawAlertCard(alertCardModel(alert, options));
}

/** The model in Block Kit; nothing is decided here but how it looks within Slack's limits. */
function drawAlertCard(model: AlertCardModel): SlackMessage {
  const blocks: Block[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: cutPlain(`#${model.number} ${model.title}`, LIMITS.headerText),
        emoji: false,
      },
    },
  ];
  // The comment is long free text: it reads better under the fields than squeezed into one.
  const comment = model.facts.find((fact) => fact.key === 'comment');
  const fields = [
    `*Severity*\n${SEVERITY_MARK[model.severity]} ${model.severityWord}`,
    ...model.facts.filter((fact) => fact !== comment).map(field),
  ];
  // A section holds at most 10 fields.
  blocks.push({ type: 'section', fields: fields.slice(0, 10).map((text) => ({ type: 'mrkdwn', text })) });
  if (model.description !== '') {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: escapeAndCut(model.description, LIMITS.sectionText) },
    });
  }
  if (model.incident !== null) {
    const name = link(model.incident.link?.url, cutPlain(model.incident.name, 200));
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `*Incident:* ${name} · ${model.incident.alertsLine}` }],
    });
  }
  const entities = entitySection(model);
  if (entities !== null) blocks.push(entities);
  if (comment !== undefined) {
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `${comment.label}: ${renderRuns(comment.value, runStyle(LIMITS.fieldText))}`,
        },
      ],
    });
  }
  const links = model.sourceLinks
    .filter((item) => safeUrl(item.url) !== null)
    .map((item) => link(item.url, cutPlain(item.label, 80)));
  if (links.length > 0)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: links.join(' · ') }] });
  blocks.push({ type: 'actions', block_id: `alert:${model.alertId}`, elements: cardButtons(model) });
  blocks.push(...investigationBlocks(model));
  return { text: escapeAndCut(model.summary, 300), blocks: blocks.slice(0, LIMITS.blocks) };
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
  const to = entry.details.to as Parameters<typeof statusWord>[0] | undefined;
  const classification = entry.details.classification as Classification | undefined;
  const comment = typeof entry.details.comment === 'string' ? entry.details.comment : '';
  let note = `${who} changed the status to *${to === undefined ? '?' : (statusWord(to) ?? escapeMrkdwn(String(to)))}*`;
  if (classification !== undefined && CLASSIFICATION_LABELS[classification] !== undefined) {
    note += ` as ${CLASSIFICATION_LABELS[classification]}`;
  }
  note += ` (${slackDate(entry.at)})`;
  if (comment.trim() !== '') note += `\n> ${escapeAndCut(comment.trim(), 2000).replace(/\n/g, '\n> ')}`;
  return note;
}

/** One line per alert for lists (slash command, App Home). */
export function alertLine(alert: CardAlert, options: RenderOptions): string {
  const title = link(consoleAlertUrl(options.publicUrl, alert.id), cutPlain(alert.title, 120));
  return `${SEVERITY_MARK[alert.severity]} *#${alert.number}* ${title} · ${statusWord(alert.status)} · ${escapeAndCut(alert.source, 60)}`;
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
export const decisionButtons = (actionId: string): Block =>
  decisionBlock(actionId, decisionButtonsFor(actionId, null));

function decisionBlock(actionId: string, buttons: Pick<PendingAction, 'approve' | 'reject'>): Block {
  return {
    type: 'actions',
    block_id: `action:${actionId}`,
    elements: [slackButton(buttons.approve), slackButton(buttons.reject)],
  };
}

/** A remediation notice: its text and, while the remediation is open, Complete and File exception. */
export function renderRemediationNotice(model: RemediationNoticeModel): SlackMessage {
  if (model.actions.length === 0) return { text: model.text, blocks: [] };
  return {
    text: model.text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: escapeAndCut(model.text, LIMITS.sectionText) } },
      {
        type: 'actions',
        block_id: `remediation:${model.remediationId}`,
        elements: model.actions.map(slackButton),
      },
    ],
  };
}

/** The modal a form button opens; `private_metadata` carries what the submission needs. */
export const REMEDIATION_FORM_CALLBACK = 'remediation.form.modal';

function modalInput(field: FormField): Block {
  const label = { type: 'plain_text', text: cutPlain(field.label, 2000) };
  const element = (() => {
    switch (field.kind) {
      case 'choice':
        return {
          type: 'static_select',
          action_id: field.id,
          options: (field.choices ?? []).map((choice) => ({
            text: { type: 'plain_text', text: cutPlain(choice.label, LIMITS.optionText) },
            value: choice.value,
          })),
        };
      case 'date':
        return { type: 'datepicker', action_id: field.id };
      default:
        return {
          type: 'plain_text_input',
          action_id: field.id,
          multiline: field.kind === 'longText',
          ...(field.maxLength === undefined ? {} : { max_length: field.maxLength }),
        };
    }
  })();
  return { type: 'input', block_id: field.id, optional: !field.required, label, element };
}

export function renderFormModal(button: FormButton, metadata: object): Record<string, unknown> {
  return {
    type: 'modal',
    callback_id: REMEDIATION_FORM_CALLBACK,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text', text: cutPlain(button.form.title, 24) },
    submit: { type: 'plain_text', text: cutPlain(button.form.submitWord, 24) },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: button.form.fields.map(modalInput),
  };
}
