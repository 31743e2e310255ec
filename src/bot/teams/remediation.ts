import { createHash } from 'node:crypto';
import { z } from 'zod';
import { fileRemediation } from '../../app/commands/remediation.js';
import { identify } from '../../app/identity.js';
import {
  type ActingPerson,
  type Actor,
  authorize,
  type Clock,
  checkDueDate,
  MAX_DEVICES_PER_REQUEST,
  REMEDIATION_PRIORITIES,
  REMEDIATION_STATUS_LABELS,
  type RemediationPriority,
  type Result,
  splitDevices,
} from '../../domain/index.js';
import type { Db, DbHandle } from '../../storage/db.js';
import type { RolePolicy } from '../../storage/person.repository.js';
import { getRemediation, listRemediations } from '../../storage/remediation.repository.js';
import { CARD_ACTIONS } from '../card-actions.js';
import { isOpenRemediation, refusal, remediationActions } from '../card-model/index.js';
import { remediationFormCommand, runRemediationCommand } from '../remediation-commands.js';
import type { RemediationActionData, RemediationFormData } from './activity.js';
import { cut, httpUrl, inert, neutralise } from './card-text.js';
import { type AdaptiveCard, type CardNotice, refusalNotice, renderNoticeActionsCard } from './render.js';

/**
 * Remediation requests from Teams, the same feature as `/vigil remediate` in Slack through the
 * same repository functions: a form card (Action.Execute `remediation.create`), the active list,
 * and a link to the console's export.
 */

export const REMEDIATION_CREATE_VERB = 'remediation.create';

/** The form's input IDs; Teams merges their values into the Action.Execute data. */
export const REMEDIATION_INPUTS = {
  recommendation: 'recommendation',
  devices: 'devices',
  due: 'due',
  priority: 'priority',
  notes: 'notes',
} as const;

const PRIORITY_LABELS: Readonly<Record<RemediationPriority, string>> = {
  low: 'Low',
  medium: 'Medium',
  high: 'High',
  critical: 'Critical',
};

type Element = Record<string, unknown>;
type TeamsUser = Extract<Actor, { kind: 'user' }>;

const LIMITS = {
  recommendation: 4000,
  notes: 10_000,
  /** A refused form is sent back with what was typed; a device list longer than this is not echoed. */
  devicesEcho: 20_000,
} as const;

/** A picked date (YYYY-MM-DD) as a due time: the end of that day, UTC, as Slack's form does. */
function dueFromPicked(picked: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(picked)) return null;
  const due = new Date(`${picked}T23:59:59.000Z`);
  return Number.isNaN(due.getTime()) ? null : due;
}

const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
const day = (date: Date) => date.toISOString().slice(0, 10);

const card = (body: Element[], actions?: Element[], fallbackText?: string): AdaptiveCard => ({
  type: 'AdaptiveCard',
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
  version: '1.5',
  ...(fallbackText === undefined ? {} : { fallbackText }),
  body,
  ...(actions === undefined ? {} : { actions }),
});

const noticeBlock = (notice: CardNotice): Element => ({
  type: 'Container',
  style: notice.style,
  items: [{ type: 'TextBlock', text: inert(notice.text, 1000), wrap: true, weight: 'Bolder' }],
});

/**
 * The request form: what to fix, on which devices (one per line), by when, how urgent, notes.
 * `prefill` puts back what was typed when a submission was refused, with `notice` saying why.
 */
export function renderRemediationForm(
  today: Date,
  prefill: RemediationFormData = {},
  notice?: CardNotice,
): AdaptiveCard {
  const week = day(new Date(today.getTime() + 7 * 24 * 3600 * 1000));
  const priority = (REMEDIATION_PRIORITIES as readonly string[]).includes(prefill.priority ?? '')
    ? (prefill.priority as RemediationPriority)
    : 'medium';
  const due = /^\d{4}-\d{2}-\d{2}$/.test(prefill.due ?? '') ? (prefill.due as string) : week;
  const devices = prefill.devices ?? '';
  const value = (text: string | undefined, max: number) =>
    text === undefined || text === '' ? {} : { value: cut(text, max) };
  const body: Element[] = [];
  if (notice !== undefined) body.push(noticeBlock(notice));
  body.push(
    { type: 'TextBlock', text: 'Request remediation', size: 'Large', weight: 'Bolder', wrap: true },
    {
      type: 'Input.Text',
      id: REMEDIATION_INPUTS.recommendation,
      label: 'Recommendation',
      placeholder: 'What should be fixed?',
      isMultiline: true,
      isRequired: true,
      errorMessage: 'Say what should be fixed',
      maxLength: LIMITS.recommendation,
      ...value(prefill.recommendation, LIMITS.recommendation),
    },
    {
      type: 'Input.Text',
      id: REMEDIATION_INPUTS.devices,
      label: 'Devices (one per line)',
      isMultiline: true,
      isRequired: true,
      errorMessage: 'Name at least one device',
      ...(devices.length <= LIMITS.devicesEcho ? value(devices, LIMITS.devicesEcho) : {}),
    },
    {
      type: 'TextBlock',
      text: `At most ${MAX_DEVICES_PER_REQUEST.toLocaleString('en-US')} devices per request; blank and repeated lines are ignored.`,
      isSubtle: true,
      size: 'Small',
      wrap: true,
      spacing: 'None',
    },
    {
      type: 'Input.Date',
      id: REMEDIATION_INPUTS.due,
      label: 'Due date',
      isRequired: true,
      errorMessage: 'Pick a due date',
      min: day(today),
      value: due,
    },
    {
      type: 'Input.ChoiceSet',
      id: REMEDIATION_INPUTS.priority,
      label: 'Priority',
      style: 'compact',
      isRequired: true,
      errorMessage: 'Choose a priority',
      value: priority,
      choices: REMEDIATION_PRIORITIES.map((p) => ({ title: PRIORITY_LABELS[p], value: p })),
    },
    {
      type: 'Input.Text',
      id: REMEDIATION_INPUTS.notes,
      label: 'Notes (optional)',
      isMultiline: true,
      maxLength: LIMITS.notes,
      ...value(prefill.notes, LIMITS.notes),
    },
  );
  return card(
    body,
    [
      {
        type: 'Action.Execute',
        title: 'Request',
        verb: REMEDIATION_CREATE_VERB,
        style: 'positive',
        data: { form: 'remediation' },
      },
    ],
    'Request remediation (a form)',
  );
}

/**
 * The person requesting remediation, when their role allows it (checked before the form opens and
 * before it is accepted, as in Slack; the command checks again and audits).
 */
async function remediationPerson(db: Db, actor: TeamsUser, roles: RolePolicy): Promise<Result<ActingPerson>> {
  const person = await identify(db, actor, roles);
  if (!person.ok) return person;
  const allowed = authorize(person.value.role, 'remediation.request');
  return allowed.ok ? person : allowed;
}

/** Requesting remediation needs the responder role, as in Slack; null when allowed, else why not. */
export async function remediationRefusal(
  db: Db,
  actor: TeamsUser,
  roles: RolePolicy,
): Promise<string | null> {
  const person = await remediationPerson(db, actor, roles);
  return person.ok ? null : person.error.message;
}

/** The idempotency key of one invoke: Teams retries an invoke with the same activity ID. */
export const invokeIdempotencyKey = (activityId: string | undefined): string =>
  activityId === undefined || activityId === ''
    ? `teams-${crypto.randomUUID()}`
    : `teams-${createHash('sha256').update(activityId).digest('hex').slice(0, 40)}`;

/** The answer to the requester: the number, how many devices were sent, how many left and how to send them. */
export function renderRequestedCard(
  number: string,
  sent: number,
  left: readonly string[],
  ignored: number,
  created: boolean,
): AdaptiveCard {
  const body: Element[] = [
    noticeBlock({
      style: left.length > 0 ? 'warning' : 'good',
      text: created
        ? `Remediation R-${number} requested: ${plural(sent, 'device')} sent.`
        : `Remediation R-${number} was already requested from this form; nothing new was created.`,
    }),
  ];
  const facts = [
    { title: 'Sent', value: plural(sent, 'device') },
    { title: 'Left', value: plural(left.length, 'device') },
  ];
  if (ignored > 0) facts.push({ title: 'Ignored', value: plural(ignored, 'blank or repeated line') });
  body.push({ type: 'FactSet', facts });
  if (left.length > 0) {
    body.push({
      type: 'TextBlock',
      wrap: true,
      text: `One request takes at most ${MAX_DEVICES_PER_REQUEST.toLocaleString('en-US')} devices. To send the other ${plural(left.length, 'device')}, type **remediate** and request them again, starting with:`,
    });
    const sample = left.slice(0, 5).map((device) => cut(device, 100));
    body.push({
      type: 'RichTextBlock',
      inlines: [
        {
          type: 'TextRun',
          text: `${sample.join('\n')}${left.length > 5 ? `\n… and ${plural(left.length - 5, 'more')}` : ''}`,
          fontType: 'Monospace',
        },
      ],
    });
  }
  body.push({
    type: 'TextBlock',
    wrap: true,
    isSubtle: true,
    text: 'Type **remediations** to see the active ones.',
  });
  return card(
    body,
    undefined,
    `Remediation R-${number}: ${plural(sent, 'device')} sent, ${left.length} left`,
  );
}

export interface RemediationInvokeDeps {
  readonly handle: DbHandle;
  readonly clock: Clock;
  readonly roles: RolePolicy;
}

/**
 * The form's Request: validates the inputs (a refusal sends the form back, filled in, naming the
 * field), checks the role, and creates the remediation once per invoke activity.
 */
export async function createFromInvoke(
  deps: RemediationInvokeDeps,
  actor: TeamsUser,
  data: RemediationFormData,
  activityId: string | undefined,
): Promise<AdaptiveCard> {
  const { handle, clock } = deps;
  const now = clock.now();
  const dropped = (data.devices ?? '').length > LIMITS.devicesEcho;
  const refuse = (text: string) =>
    renderRemediationForm(now, data, {
      style: 'warning',
      text: dropped ? `${text} The device list was too long to put back: paste it again.` : text,
    });

  const person = await remediationPerson(handle.db, actor, deps.roles);
  if (!person.ok) return refuse(`Not requested: ${person.error.message}`);

  const recommendation = (data.recommendation ?? '').trim();
  const devices = (data.devices ?? '').split(/\r?\n/);
  const notes = (data.notes ?? '').trim();
  const problems: string[] = [];
  if (recommendation === '') problems.push('Recommendation: say what should be fixed.');
  const split = splitDevices(devices);
  if (split.sent.length === 0) problems.push('Devices: name at least one device, one per line.');
  const due = dueFromPicked((data.due ?? '').trim());
  const checked = due === null ? null : checkDueDate(due, clock);
  if (checked === null) problems.push('Due date: pick a due date.');
  else if (!checked.ok) problems.push(`Due date: ${checked.error.message}`);
  const priorityText = (data.priority ?? 'medium').trim() || 'medium';
  const priority = z.enum(REMEDIATION_PRIORITIES).safeParse(priorityText);
  if (!priority.success) problems.push('Priority: choose Low, Medium, High or Critical.');
  if (problems.length > 0 || due === null || !priority.success)
    return refuse(`Not requested. ${problems.join(' ')}`);

  const filed = await fileRemediation({ handle, clock }, person.value, {
    request: {
      subject: { kind: 'recommendation', text: recommendation.slice(0, LIMITS.recommendation) },
      devices,
      dueAt: due,
      priority: priority.data,
      notes: notes.slice(0, LIMITS.notes),
      alertId: null,
    },
    split,
    idempotencyKey: invokeIdempotencyKey(activityId),
  });
  if (!filed.ok) return refuse(`Not requested: ${filed.error.message}`);
  const { created, remediation } = filed.value;
  return renderRequestedCard(remediation.number, split.sent.length, split.left, split.ignored, created);
}

const ACTIVE_SHOWN = 40;

/** `remediations`: the active ones (open, in progress, overdue), soonest due first, as a chat reply. */
export async function activeRemediationsText(db: Db): Promise<string> {
  const rows = await listRemediations(db, { status: ['open', 'in_progress', 'overdue'], limit: 500 });
  rows.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime());
  if (rows.length === 0) return 'No active remediations. Type `remediate` to request one.';
  const lines = rows.slice(0, ACTIVE_SHOWN).map((r) => {
    const overdue = r.status === 'overdue' ? '⚠️ ' : '';
    return `- ${overdue}**R-${r.number}** ${inert(r.subject.text.replace(/\s+/g, ' '), 120)} · ${PRIORITY_LABELS[r.priority]} · ${REMEDIATION_STATUS_LABELS[r.status]} · due ${day(r.dueAt)} · ${r.devicesLeft}/${r.deviceCount} devices left`;
  });
  const more = rows.length - lines.length;
  return [
    `**Active remediations (${rows.length}${rows.length === 500 ? '+' : ''})**, soonest due first:`,
    '',
    ...lines,
    ...(more > 0 ? ['', `and ${more} more: type \`remediations export\` for all of them.`] : []),
  ].join('\n');
}

/**
 * `remediations export`: a link to the console's remediation page. The CSV API needs a token a
 * chat client does not have; the console signs in and has the export button.
 */
export function renderExportCard(publicUrl: string): AdaptiveCard {
  const url = httpUrl(`${publicUrl}/console/#/remediations`);
  const body: Element[] = [
    { type: 'TextBlock', text: 'Export remediations', size: 'Large', weight: 'Bolder', wrap: true },
    {
      type: 'TextBlock',
      wrap: true,
      text: neutralise(
        url === null
          ? 'The export is in the Vigil console (Remediations, Export CSV); Vigil has no public URL configured to link to it.'
          : 'The CSV export needs you signed in to Vigil: open the console, then use **Export CSV** on the Remediations page.',
      ),
    },
  ];
  return card(
    body,
    url === null ? undefined : [{ type: 'Action.OpenUrl', title: 'Open remediations in Vigil', url }],
    'Export remediations from the Vigil console',
  );
}

/**
 * Complete or File exception on a remediation notice: the same command as typed (the command
 * layer checks the role and audits a refusal). Answered with what happened; a refusal offers the
 * buttons again.
 */
export async function remediationActionCard(
  deps: { readonly handle: DbHandle; readonly clock: Clock },
  person: ActingPerson,
  verb: typeof CARD_ACTIONS.completeRemediation | typeof CARD_ACTIONS.fileException,
  data: RemediationActionData,
): Promise<AdaptiveCard> {
  const command = remediationFormCommand(verb, data.remediationId, data);
  const done = command.ok ? await runRemediationCommand(deps, person, command.value) : command;
  if (done.ok) return renderNoticeActionsCard([], { style: 'good', text: done.value });
  const remediation = await getRemediation(deps.handle.db, data.remediationId);
  return renderNoticeActionsCard(
    remediation !== null && isOpenRemediation(remediation.status)
      ? remediationActions(remediation.id, remediation.number)
      : [],
    refusalNotice(refusal(done.error, verb === CARD_ACTIONS.completeRemediation ? 'complete' : 'except')),
  );
}
