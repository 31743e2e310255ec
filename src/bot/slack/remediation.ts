import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { App, BlockAction, ButtonAction, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { fileRemediation } from '../../app/commands/remediation.js';
import {
  type ActingPerson,
  authorize,
  checkDueDate,
  MAX_DEVICES_PER_REQUEST,
  REMEDIATION_PRIORITIES,
  REMEDIATION_STATUS_LABELS,
  type RemediationPriority,
  type Result,
  splitDevices,
} from '../../domain/index.js';
import { getRemediation, listRemediations } from '../../storage/remediation.repository.js';
import { CARD_ACTIONS } from '../card-actions.js';
import { GONE, remediationActions } from '../card-model/index.js';
import { remediationCsv } from '../http/api/remediations.js';
import { remediationFormCommand, runRemediationCommand } from '../remediation-commands.js';
import { channelOf, tell } from './approvals.js';
import { type SlackContext, type SlackUser, slackPerson, slackUser } from './context.js';
import { postFile } from './file-upload.js';
import { refusalText, slackRefusal } from './interactions.js';
import { cutPlain, escapeAndCut, escapeMrkdwn, slackDate } from './mrkdwn.js';
import { type Block, REMEDIATION_FORM_CALLBACK, renderFormModal } from './render.js';

export const REMEDIATE_MODAL_CALLBACK = 'remediation.request.modal';
export const REMEDIATE_BLOCKS = {
  recommendation: { block: 'recommendation', action: 'recommendation' },
  devices: { block: 'devices', action: 'devices' },
  due: { block: 'due', action: 'due' },
  priority: { block: 'priority', action: 'priority' },
  notes: { block: 'notes', action: 'notes' },
} as const;

const PRIORITY_LABELS: Readonly<Record<RemediationPriority, string>> = {
  low: 'Low',
  medium: 'Medium',
  high: 'High',
  critical: 'Critical',
};

const metadata = z.object({ channel: z.string().nullable() });

/** The request form: what to fix, on which devices (one per line), by when, how urgent, notes. */
export function renderRemediateModal(channel: string | null, today: Date): Record<string, unknown> {
  const week = new Date(today.getTime() + 7 * 24 * 3600 * 1000).toISOString().slice(0, 10);
  return {
    type: 'modal',
    callback_id: REMEDIATE_MODAL_CALLBACK,
    private_metadata: JSON.stringify({ channel }),
    title: { type: 'plain_text', text: 'Request remediation' },
    submit: { type: 'plain_text', text: 'Request' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: REMEDIATE_BLOCKS.recommendation.block,
        label: { type: 'plain_text', text: 'Recommendation' },
        element: {
          type: 'plain_text_input',
          action_id: REMEDIATE_BLOCKS.recommendation.action,
          multiline: true,
          max_length: 3000,
          placeholder: { type: 'plain_text', text: 'What should be fixed?' },
        },
      },
      {
        type: 'input',
        block_id: REMEDIATE_BLOCKS.devices.block,
        label: { type: 'plain_text', text: 'Devices (one per line)' },
        element: {
          type: 'plain_text_input',
          action_id: REMEDIATE_BLOCKS.devices.action,
          multiline: true,
          max_length: 3000,
        },
        hint: {
          type: 'plain_text',
          text: `At most ${MAX_DEVICES_PER_REQUEST.toLocaleString('en-US')} per request; blank and repeated lines are ignored.`,
        },
      },
      {
        type: 'input',
        block_id: REMEDIATE_BLOCKS.due.block,
        label: { type: 'plain_text', text: 'Due date' },
        element: { type: 'datepicker', action_id: REMEDIATE_BLOCKS.due.action, initial_date: week },
      },
      {
        type: 'input',
        block_id: REMEDIATE_BLOCKS.priority.block,
        label: { type: 'plain_text', text: 'Priority' },
        element: {
          type: 'static_select',
          action_id: REMEDIATE_BLOCKS.priority.action,
          initial_option: { text: { type: 'plain_text', text: 'Medium' }, value: 'medium' },
          options: REMEDIATION_PRIORITIES.map((value) => ({
            text: { type: 'plain_text', text: PRIORITY_LABELS[value] },
            value,
          })),
        },
      },
      {
        type: 'input',
        block_id: REMEDIATE_BLOCKS.notes.block,
        optional: true,
        label: { type: 'plain_text', text: 'Notes' },
        element: {
          type: 'plain_text_input',
          action_id: REMEDIATE_BLOCKS.notes.action,
          multiline: true,
          max_length: 3000,
        },
      },
    ],
  };
}

/**
 * The person requesting remediation, when their role allows it (checked before the form opens and
 * before it is accepted, so a refusal shows in the form; the command checks again and audits).
 */
async function remediationPerson(context: SlackContext, actor: SlackUser): Promise<Result<ActingPerson>> {
  const person = await slackPerson(context, actor);
  if (!person.ok) return person;
  const allowed = authorize(person.value.role, 'remediation.request');
  return allowed.ok ? person : allowed;
}

/** Requesting remediation needs the responder role; null when allowed, else what to tell them. */
export async function remediationRefusal(context: SlackContext, actor: SlackUser): Promise<string | null> {
  const person = await remediationPerson(context, actor);
  return person.ok ? null : refusalText(person.error);
}

/** Opens the request form (the trigger_id is valid for 3 s, so this runs right after the ack). */
export async function openRemediateModal(
  context: SlackContext,
  triggerId: string,
  channel: string | null,
): Promise<void> {
  await context.client.views.open({
    trigger_id: triggerId,
    view: renderRemediateModal(channel, context.clock.now()) as never,
  });
}

/** A date picked in Slack (YYYY-MM-DD) as a due time: the end of that day, UTC. */
export function dueFromPicked(picked: string | null | undefined): Date | null {
  if (picked == null || !/^\d{4}-\d{2}-\d{2}$/.test(picked)) return null;
  const due = new Date(`${picked}T23:59:59.000Z`);
  return Number.isNaN(due.getTime()) ? null : due;
}

/** The answer to the requester: how many devices were sent and how many were left for another request. */
export function requestedText(
  number: string,
  sent: number,
  left: readonly string[],
  ignored: number,
): string {
  const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
  let text = `:white_check_mark: Remediation R-${number} requested: ${plural(sent, 'device')} sent.`;
  if (left.length > 0) {
    const sample = left
      .slice(0, 5)
      .map((device) => `\`${escapeAndCut(device.replace(/`/g, "'"), 100)}\``)
      .join(', ');
    text += ` ${plural(left.length, 'device')} left: one request takes at most ${MAX_DEVICES_PER_REQUEST.toLocaleString('en-US')}; request them again (${sample}${left.length > 5 ? ', …' : ''}).`;
  }
  if (ignored > 0) text += ` ${plural(ignored, 'blank or repeated line')} ignored.`;
  return text;
}

/** `/vigil remediations`: the active ones (open, in progress, overdue), soonest due first. */
export async function activeRemediationBlocks(
  context: SlackContext,
): Promise<{ text: string; blocks: Block[] }> {
  const rows = await listRemediations(context.handle.db, {
    status: ['open', 'in_progress', 'overdue'],
    limit: 500,
  });
  rows.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime());
  const blocks: Block[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Active remediations (${rows.length}${rows.length === 500 ? '+' : ''})*`,
      },
    },
  ];
  if (rows.length === 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: '_None._' }] });
  const lines = rows.slice(0, 40).map((r) => {
    const overdue = r.status === 'overdue' ? ':warning: ' : '';
    return `${overdue}*R-${r.number}* ${escapeAndCut(r.subject.text, 120)} · ${PRIORITY_LABELS[r.priority]} · ${REMEDIATION_STATUS_LABELS[r.status]} · due ${slackDate(r.dueAt)} · ${r.devicesLeft}/${r.deviceCount} devices left`;
  });
  for (let i = 0; i < lines.length; i += 10) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: lines.slice(i, i + 10).join('\n') } });
  }
  if (rows.length > 40) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `+${rows.length - 40} more: \`/vigil remediations export\`` }],
    });
  }
  return { text: `${rows.length} active remediation(s)`, blocks };
}

/**
 * `/vigil remediations export`: the CSV the API exports, uploaded into the channel the Slack way
 * (files.getUploadURLExternal, a POST of the bytes, files.completeUploadExternal). The CSV goes
 * to a temporary file first, a page at a time, since Slack wants its length before the bytes and
 * 100,000 rows held in memory would cost the process tens of MB. Returns what to tell the person
 * when it could not be shared.
 */
export async function exportRemediations(context: SlackContext, channel: string): Promise<string | null> {
  const directory = await mkdtemp(join(tmpdir(), 'vigil-export-'));
  const path = join(directory, 'remediations.csv');
  try {
    // All remediation activity, exceptions included, as the API's export: no filter.
    await pipeline(remediationCsv(context.handle, {}), createWriteStream(path));
    const { size } = await stat(path);
    const filename = `remediations-${context.clock.now().toISOString().slice(0, 10)}.csv`;
    const target = await context.client.files.getUploadURLExternal({ filename, length: size });
    if (target.upload_url === undefined || target.file_id === undefined)
      throw new Error('files.getUploadURLExternal answered without upload_url or file_id');
    const status = await postFile(target.upload_url, path, size, 'text/csv', 30_000);
    if (status < 200 || status >= 300) throw new Error(`the file upload answered HTTP ${status}`);
    await context.client.files.completeUploadExternal({
      files: [{ id: target.file_id, title: cutPlain('Vigil remediations', 250) }],
      channel_id: channel,
      initial_comment: 'Remediations exported from Vigil (exceptions are not included).',
    });
    return null;
  } catch (error) {
    context.logger.warn({ err: error, channel }, 'remediation export upload failed');
    const code = (error as { data?: { error?: unknown } }).data?.error;
    return `:warning: The export could not be shared here${typeof code === 'string' ? ` (${code})` : ''}; the API has it at /api/remediations.csv.`;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

const formMetadata = z.object({
  action: z.enum([CARD_ACTIONS.completeRemediation, CARD_ACTIONS.fileException]),
  remediationId: z.uuid(),
  channel: z.string().nullable(),
});

/** A form modal's inputs by their IDs: typed text, the picked option or the picked date. */
function formValues(view: ViewSubmitAction['view']): Record<string, string | null | undefined> {
  const values: Record<string, string | null | undefined> = {};
  for (const [id, inputs] of Object.entries(view.state.values)) {
    const input = inputs[id];
    values[id] = input?.value ?? input?.selected_option?.value ?? input?.selected_date;
  }
  return values;
}

/**
 * Complete and File exception on a remediation notice: the button opens the model's form; the
 * submission runs the same command as `/vigil remediation ...` (the command checks the role and
 * audits a refusal) and tells the person what happened.
 */
function registerNoticeActions(app: App, context: SlackContext): void {
  const ids = new RegExp(
    `^(${CARD_ACTIONS.completeRemediation}|${CARD_ACTIONS.fileException})$`.replaceAll('.', '\\.'),
  );
  app.action<BlockAction<ButtonAction>>(ids, async ({ ack, body, action }) => {
    await ack();
    const channel = channelOf(body);
    const actor = slackUser(body.user);
    const found = z.uuid().safeParse(action.value).success
      ? await getRemediation(context.handle.db, action.value ?? '')
      : null;
    const button =
      found === null
        ? undefined
        : remediationActions(found.id, found.number).find((b) => b.id === action.action_id);
    if (found === null || button === undefined) {
      await tell(context, channel, actor.id, slackRefusal({ tone: 'warning', text: GONE.remediation }));
      return;
    }
    // trigger_id is valid for 3 s after the click, so the modal opens before anything slower.
    await context.client.views.open({
      trigger_id: body.trigger_id,
      view: renderFormModal(button, { action: button.id, remediationId: found.id, channel }) as never,
    });
  });

  app.view<ViewSubmitAction>(REMEDIATION_FORM_CALLBACK, async ({ ack, body, view }) => {
    await ack();
    const metadata = (() => {
      try {
        return formMetadata.safeParse(JSON.parse(view.private_metadata));
      } catch {
        return null;
      }
    })();
    if (metadata === null || !metadata.success) {
      context.logger.warn({ callbackId: view.callback_id }, 'form modal without usable metadata');
      return;
    }
    const { action, remediationId, channel } = metadata.data;
    const actor = slackUser(body.user);
    const person = await slackPerson(context, actor);
    const command = remediationFormCommand(action, remediationId, formValues(view));
    const done = !person.ok
      ? person
      : command.ok
        ? await runRemediationCommand(
            { handle: context.handle, clock: context.clock },
            person.value,
            command.value,
          )
        : command;
    const attempt = action === CARD_ACTIONS.completeRemediation ? 'complete' : 'except';
    await tell(
      context,
      channel,
      actor.id,
      done.ok ? `:white_check_mark: ${escapeMrkdwn(done.value)}` : refusalText(done.error, attempt),
    );
  });
}

/** The request form's submission, and the buttons of remediation notices. */
export function registerRemediation(app: App, context: SlackContext): void {
  registerNoticeActions(app, context);
  app.view<ViewSubmitAction>(REMEDIATE_MODAL_CALLBACK, async ({ ack, body, view }) => {
    const values = view.state.values;
    const text = (block: { block: string; action: string }) =>
      (values[block.block]?.[block.action]?.value ?? '').trim();
    const recommendation = text(REMEDIATE_BLOCKS.recommendation);
    const devices = (
      values[REMEDIATE_BLOCKS.devices.block]?.[REMEDIATE_BLOCKS.devices.action]?.value ?? ''
    ).split(/\r?\n/);
    const picked = values[REMEDIATE_BLOCKS.due.block]?.[REMEDIATE_BLOCKS.due.action]?.selected_date;
    const priority = z
      .enum(REMEDIATION_PRIORITIES)
      .catch('medium')
      .parse(
        values[REMEDIATE_BLOCKS.priority.block]?.[REMEDIATE_BLOCKS.priority.action]?.selected_option?.value,
      );
    const notes = text(REMEDIATE_BLOCKS.notes);
    const errors: Record<string, string> = {};
    if (recommendation === '') errors[REMEDIATE_BLOCKS.recommendation.block] = 'Say what should be fixed.';
    const split = splitDevices(devices);
    if (split.sent.length === 0) errors[REMEDIATE_BLOCKS.devices.block] = 'Name at least one device.';
    const due = dueFromPicked(picked);
    const checked = due === null ? null : checkDueDate(due, context.clock);
    if (checked === null) errors[REMEDIATE_BLOCKS.due.block] = 'Pick a due date.';
    else if (!checked.ok) errors[REMEDIATE_BLOCKS.due.block] = checked.error.message;
    const actor = slackUser(body.user);
    const person = await remediationPerson(context, actor);
    if (!person.ok) errors[REMEDIATE_BLOCKS.recommendation.block] = person.error.message;
    if (Object.keys(errors).length > 0 || due === null || !person.ok) {
      await ack({ response_action: 'errors', errors });
      return;
    }
    await ack();
    const channel = (() => {
      try {
        const parsed = metadata.safeParse(JSON.parse(view.private_metadata));
        return parsed.success ? parsed.data.channel : null;
      } catch {
        return null;
      }
    })();
    // The view's ID is stable across Slack's retries of one submission: it makes the request idempotent.
    const key = `slack-${view.id.replace(/[^A-Za-z0-9_-]/g, '')}`.slice(0, 100);
    const filed = await fileRemediation({ handle: context.handle, clock: context.clock }, person.value, {
      request: {
        subject: { kind: 'recommendation', text: recommendation.slice(0, 4000) },
        devices,
        dueAt: due,
        priority,
        notes: notes.slice(0, 10_000),
        alertId: null,
      },
      split,
      idempotencyKey: key.length >= 8 ? key : `slack-${crypto.randomUUID()}`,
    });
    const answer = !filed.ok
      ? refusalText(filed.error)
      : filed.value.created
        ? requestedText(filed.value.remediation.number, split.sent.length, split.left, split.ignored)
        : `Remediation R-${filed.value.remediation.number} was already requested from this form; nothing new was created.`;
    try {
      if (channel === null) await context.client.chat.postMessage({ channel: actor.id, text: answer });
      else await context.client.chat.postEphemeral({ channel, user: actor.id, text: answer });
    } catch (error) {
      context.logger.warn({ err: error, channel }, 'could not tell the requester about their remediation');
    }
  });
}
