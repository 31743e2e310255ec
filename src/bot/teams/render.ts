import {
  actorLabel,
  type CardAlert,
  CLASSIFICATION_LABELS,
  CLASSIFICATIONS,
  DETERMINATION_LABELS,
  DETERMINATIONS,
  type Severity,
} from '../../domain/index.js';
import { CARD_ACTIONS } from '../card-actions.js';
import {
  type AlertCardModel,
  alertCardModel,
  alertSummary,
  type ButtonTarget,
  type CardButton,
  type CardFact,
  type CardLink,
  type FormButton,
  type FormField,
  type PendingAction,
  type Refusal,
  type RunStyle,
  renderRuns,
} from '../card-model/index.js';
import { cardTime, cut, httpUrl, inert, neutralise } from './card-text.js';

/**
 * The alert card as an Adaptive Card 1.5 (the version Action.Execute needs), drawn from the
 * platform-neutral card model. Kept loosely typed: the official `adaptivecards` package
 * validates every card the tests produce.
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

/** A refusal from the model's table as the banner above the card. */
export const refusalNotice = (refusal: Refusal): CardNotice => ({
  style: refusal.tone === 'progress' ? 'good' : 'warning',
  text: refusal.text,
});

/** Teams keeps messages under about 100 KB; these caps keep a card far below even with hostile input. */
export const CARD_LIMITS = {
  title: 300,
  description: 1500,
  fact: 300,
  entityName: 200,
  comment: 500,
  actionTarget: 200,
  actionReason: 400,
} as const;

/** The Reject button's reason box: one per card, sent with whichever Reject is clicked. */
export const REASON_INPUT_ID = 'reason';

const SEVERITY_LOOK: Readonly<Record<Severity, { color: string; style: string }>> = {
  critical: { color: 'Attention', style: 'attention' },
  high: { color: 'Attention', style: 'warning' },
  medium: { color: 'Warning', style: 'emphasis' },
  low: { color: 'Accent', style: 'emphasis' },
  informational: { color: 'Default', style: 'emphasis' },
};

/** The model's runs as inert text (fact values are markdown in Teams). */
const runStyle = (max: number): RunStyle => ({
  word: (text) => text,
  text: (text) => inert(text, max),
  person: (actor) => inert(actorLabel(actor), 100),
  time: cardTime,
});

const textRun = (text: string, extra: Element = {}): Element => ({ type: 'TextRun', text, ...extra });
// RichTextBlock + TextRun: never parsed as markdown, so source text is shown exactly as sent.
const plain = (text: string, extra: Element = {}): Element => ({
  type: 'RichTextBlock',
  inlines: [textRun(text, extra)],
});

const openUrl = (link: CardLink | null, title = link?.label): Element | null => {
  const url = httpUrl(link?.url);
  return url === null ? null : { type: 'Action.OpenUrl', title, url };
};

/** What an Action.Execute carries, exactly as cards already posted carry it. */
function executeData(target: ButtonTarget): Element {
  switch (target.kind) {
    case 'alert':
    case 'incident':
      return { alertId: target.alertId, version: target.version };
    case 'action':
      return { actionId: target.actionId, ...(target.alertId === null ? {} : { alertId: target.alertId }) };
    case 'remediation':
      return { remediationId: target.remediationId };
  }
}

function execute(button: CardButton, extra: Element = {}): Element {
  return {
    type: 'Action.Execute',
    title: button.word,
    verb: button.id,
    data: executeData(button.target),
    ...(button.emphasis === null
      ? {}
      : { style: button.emphasis === 'primary' ? 'positive' : 'destructive' }),
    ...extra,
  };
}

/** The Resolve form: a classification (required), a determination and a comment, then its buttons. */
function resolveForm(title: string, actions: readonly CardButton[]): Element {
  return {
    type: 'Action.ShowCard',
    title,
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
      actions: actions.map((action, index) => execute(action, index === 0 ? { style: 'positive' } : {})),
    },
  };
}

/**
 * The model's buttons as card actions. Resolve and Resolve incident need a classification, so
 * they sit in one form (a card holds at most five actions); on a resolved alert of an incident
 * still open, Resolve incident has the form to itself.
 */
function cardActions(model: AlertCardModel): Element[] {
  const resolve = model.actions.find((action) => action.id === CARD_ACTIONS.resolve);
  const incident = model.actions.find((action) => action.id === CARD_ACTIONS.resolveIncident);
  const actions: Element[] = [];
  for (const action of model.actions) {
    if (action === resolve)
      actions.push(resolveForm(action.word, incident === undefined ? [action] : [action, incident]));
    else if (action === incident) {
      if (resolve === undefined) actions.push(resolveForm(action.word, [action]));
    } else actions.push(execute(action));
  }
  // The source's policy link (a Vigil policy that acted links from its name: see vigilPolicyLine).
  const policy = openUrl(model.facts.find((fact) => fact.key === 'policy')?.link ?? null);
  if (policy !== null) actions.push(policy);
  const console = openUrl(model.openInVigil);
  if (console !== null) actions.push(console);
  return actions;
}

/** A label and a value that opens a link when tapped (a card holds at most five actions). */
function linkedLine(label: string, value: string, link: CardLink | null, title?: string): Element {
  const action = openUrl(link, title);
  return {
    type: 'RichTextBlock',
    inlines: [
      textRun(`${label}: `, { weight: 'Bolder' }),
      textRun(cut(value, CARD_LIMITS.fact), action === null ? {} : { selectAction: action }),
    ],
  };
}

function vigilPolicyLine(fact: CardFact | undefined): Element[] {
  if (fact === undefined) return [];
  return [
    linkedLine(
      fact.label,
      renderRuns(fact.value, { ...runStyle(CARD_LIMITS.fact), text: (t) => t }),
      fact.link,
    ),
  ];
}

function incidentLine(model: AlertCardModel): Element[] {
  if (model.incident === null) return [];
  const line = linkedLine('Incident', model.incident.name, model.incident.link);
  return [{ ...line, inlines: [...(line.inlines as Element[]), textRun(` · ${model.incident.alertsLine}`)] }];
}

function factSet(facts: readonly CardFact[]): Element {
  return {
    type: 'FactSet',
    facts: facts.map((fact) => ({
      title: fact.label,
      value: renderRuns(
        fact.value,
        runStyle(fact.key === 'comment' ? CARD_LIMITS.comment : CARD_LIMITS.fact),
      ),
    })),
  };
}

function entities(model: AlertCardModel): Element[] {
  if (model.entities.length === 0) return [];
  const inlines: Element[] = [];
  model.entities.forEach((line, index) => {
    if (index > 0) inlines.push(textRun('\n'));
    inlines.push(textRun(`${line.label}: `, { weight: 'Bolder' }));
    inlines.push(
      textRun(line.names.map((name) => cut(name, CARD_LIMITS.entityName)).join(', '), {
        fontType: 'Monospace',
      }),
    );
    if (line.hidden > 0) inlines.push(textRun(` and ${line.hidden} more`, { isSubtle: true }));
  });
  if (model.hiddenEntityKinds > 0)
    inlines.push(textRun(`\nand ${model.hiddenEntityKinds} more kinds of entity`, { isSubtle: true }));
  return [
    { type: 'TextBlock', text: 'Entities', weight: 'Bolder', spacing: 'Medium' },
    { type: 'RichTextBlock', inlines },
  ];
}

/** The links the source sent, each opening when tapped. */
function sourceLinks(model: AlertCardModel): Element[] {
  const inlines = model.sourceLinks.flatMap((link, index) => {
    const action = openUrl(link);
    if (action === null) return [];
    return [...(index > 0 ? [textRun(' · ')] : []), textRun(cut(link.label, 80), { selectAction: action })];
  });
  return inlines.length === 0 ? [] : [{ type: 'RichTextBlock', inlines }];
}

function pendingAction(action: PendingAction): Element[] {
  return [
    {
      type: 'RichTextBlock',
      inlines: [
        textRun(`${action.kindWord}: `, { weight: 'Bolder' }),
        textRun(cut(action.target, CARD_LIMITS.actionTarget), { fontType: 'Monospace' }),
      ],
    },
    ...(action.reason === ''
      ? []
      : [plain(cut(action.reason.replace(/\r\n?/g, '\n'), CARD_LIMITS.actionReason), { isSubtle: true })]),
    plain(action.approvalsWord, { size: 'Small' }),
    {
      type: 'ActionSet',
      // Approving needs no reason: the reason box is neither sent nor checked.
      actions: [execute(action.approve, { associatedInputs: 'none' }), execute(action.reject)],
    },
  ];
}

/**
 * The alert's investigations: per investigation its status, its settled actions and the pending
 * ones with Approve and Reject, one reason box for rejecting; then Investigate, when offered.
 */
function investigationSection(model: AlertCardModel): Element[] {
  const items: Element[] = [];
  for (const investigation of model.investigations) {
    const lines: Element[] = [
      {
        type: 'TextBlock',
        text: `${investigation.title} · ${investigation.statusWord}`,
        weight: 'Bolder',
        wrap: true,
      },
      ...investigation.settled.map((action) => ({
        type: 'RichTextBlock',
        inlines: [
          textRun(`${action.kindWord}: `, { weight: 'Bolder' }),
          textRun(cut(action.target, CARD_LIMITS.actionTarget), { fontType: 'Monospace' }),
          textRun(` (${action.statusWord})`, { isSubtle: true }),
          ...(action.error === null
            ? []
            : [textRun(`: ${cut(action.error, CARD_LIMITS.actionReason)}`, { isSubtle: true })]),
        ],
      })),
      ...investigation.pending.map((action) => ({
        type: 'Container',
        spacing: 'Small',
        separator: true,
        items: pendingAction(action),
      })),
    ];
    const open = openUrl(investigation.link, 'Open investigation');
    items.push({
      type: 'Container',
      spacing: 'Medium',
      separator: true,
      items: lines,
      // A tap on the investigation opens its page in the console.
      ...(open === null ? {} : { selectAction: open }),
    });
  }
  if (model.morePending !== null) items.push(plain(model.morePending, { isSubtle: true }));
  if (model.investigations.some((investigation) => investigation.pending.length > 0)) {
    items.push({
      type: 'Input.Text',
      id: REASON_INPUT_ID,
      label: 'Reason (needed to reject)',
      placeholder: 'Why this action should not run',
      maxLength: 500,
    });
  }
  if (model.investigate !== null) items.push({ type: 'ActionSet', actions: [execute(model.investigate)] });
  return items;
}

/** The one-line text Teams shows in notifications and where cards cannot render. */
export const cardSummary = (alert: CardAlert): string => cut(alertSummary(alert), 200);

/** Renders the alert card; `notice` adds a banner for the person who clicked (a refusal and why). */
export function renderAlertCard(alert: CardAlert, options: RenderOptions, notice?: CardNotice): AdaptiveCard {
  return drawAlertCard(alertCardModel(alert, options), notice);
}

/** The model as an Adaptive Card; nothing is decided here but how it looks within Teams' limits. */
function drawAlertCard(model: AlertCardModel, notice?: CardNotice): AdaptiveCard {
  const look = SEVERITY_LOOK[model.severity];
  const body: Element[] = [];
  if (notice !== undefined) body.push(noticeContainer(notice));
  body.push({
    type: 'Container',
    style: look.style,
    bleed: true,
    items: [
      {
        type: 'TextBlock',
        text: `${model.severityWord} · Alert #${model.number}`,
        weight: 'Bolder',
        color: look.color,
        size: 'Small',
        wrap: true,
      },
      plain(cut(model.title, CARD_LIMITS.title), { size: 'Large', weight: 'Bolder' }),
    ],
  });
  const vigilPolicy = model.facts.find((fact) => fact.key === 'vigilPolicy');
  body.push(
    factSet(model.facts.filter((fact) => fact !== vigilPolicy)),
    ...vigilPolicyLine(vigilPolicy),
    ...incidentLine(model),
  );
  if (model.description !== '') {
    body.push({
      ...plain(cut(model.description.replace(/\r\n?/g, '\n'), CARD_LIMITS.description)),
      spacing: 'Medium',
    });
  }
  body.push(...entities(model), ...sourceLinks(model), ...investigationSection(model));
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    fallbackText: cut(model.summary, 200),
    msteams: { width: 'Full' },
    body,
    actions: cardActions(model),
  };
}

const noticeContainer = (notice: CardNotice): Element => ({
  type: 'Container',
  style: notice.style,
  items: [{ type: 'TextBlock', text: inert(notice.text, 500), wrap: true, weight: 'Bolder' }],
});

/** A card for when there is no alert to show (deleted, or a typo in `alert 42`). */
export function renderMessageCard(text: string, style: CardNotice['style'] = 'warning'): AdaptiveCard {
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body: [{ type: 'Container', style, items: [{ type: 'TextBlock', text: neutralise(text), wrap: true }] }],
  };
}

function formInput(field: FormField): Element {
  const common = {
    id: field.id,
    label: field.label,
    ...(field.required ? { isRequired: true, errorMessage: `${field.label} is needed` } : {}),
  };
  switch (field.kind) {
    case 'choice':
      return {
        type: 'Input.ChoiceSet',
        style: 'compact',
        ...common,
        choices: (field.choices ?? []).map((choice) => ({ title: choice.label, value: choice.value })),
      };
    case 'date':
      return { type: 'Input.Date', ...common };
    default:
      return {
        type: 'Input.Text',
        ...common,
        ...(field.kind === 'longText' ? { isMultiline: true } : {}),
        ...(field.maxLength === undefined ? {} : { maxLength: field.maxLength }),
      };
  }
}

/** A button that asks first: its form opens on the card, and its submit button acts. */
const formAction = (button: FormButton): Element => ({
  type: 'Action.ShowCard',
  title: button.word,
  card: {
    type: 'AdaptiveCard',
    body: button.form.fields.map(formInput),
    actions: [execute(button, { title: button.form.submitWord })],
  },
});

/**
 * The buttons of a remediation notice, as a card under its text (the message's `text` says what
 * happened); `notice` answers a click, above the buttons when they are offered again.
 */
export function renderNoticeActionsCard(actions: readonly FormButton[], notice?: CardNotice): AdaptiveCard {
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body: notice === undefined ? [] : [noticeContainer(notice)],
    ...(actions.length === 0 ? {} : { actions: actions.map(formAction) }),
  };
}
