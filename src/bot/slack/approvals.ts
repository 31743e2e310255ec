import type { App, BlockAction, ButtonAction, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { decideAction } from '../../app/commands/decide-action.js';
import { startInvestigation } from '../../app/commands/start-investigation.js';
import {
  ACTION_LABELS,
  type ActingPerson,
  authorize,
  type Decision,
  INVESTIGATION_STATUS_LABELS,
  type InvestigationStatus,
  principalKey,
  type Result,
} from '../../domain/index.js';
import { type ActionView, getAction, listActions } from '../../storage/investigation-action.repository.js';
import {
  getInvestigationDetail,
  type InvestigationDetail,
} from '../../storage/investigation-view.repository.js';
import { CARD_ACTIONS, decodeCardActionValue } from '../card-actions.js';
import { UNREADABLE_BUTTON } from '../card-model/index.js';
import { consoleInvestigationUrl } from '../console-links.js';
import { type SlackContext, type SlackUser, slackPerson, slackUser } from './context.js';
import { refusalText, slackRefusal } from './interactions.js';
import { cutPlain, escapeAndCut, escapeMrkdwn, link } from './mrkdwn.js';
import { type Block, decisionButtons } from './render.js';

export const REJECT_MODAL_CALLBACK = 'action.reject.modal';
export const REJECT_BLOCKS = { reason: { block: 'reason', action: 'reason' } } as const;

const rejectMetadata = z.object({ actionId: z.uuid(), channel: z.string().nullable() });

export const channelOf = (body: BlockAction): string | null =>
  body.channel?.id ?? (body.container as { channel_id?: string } | undefined)?.channel_id ?? null;

/** Tells one person, and only them, what happened: ephemeral in the channel, else in the app's DM. */
export async function tell(
  context: SlackContext,
  channel: string | null,
  user: string,
  text: string,
): Promise<void> {
  try {
    // A click from App Home has no channel: the answer goes to the app's DM with the person.
    if (channel === null) await context.client.chat.postMessage({ channel: user, text });
    else await context.client.chat.postEphemeral({ channel, user, text });
  } catch (error) {
    context.logger.warn({ err: error, channel }, 'could not send an ephemeral message');
  }
}

/** An action as a person recognises it: kind and target. */
export const describeAction = (action: Pick<ActionView, 'kind' | 'target'>): string =>
  `*${ACTION_LABELS[action.kind] ?? escapeMrkdwn(action.kind)}* \`${escapeAndCut(action.target.displayName.replace(/`/g, "'"), 200)}\``;

/** What a decision did, or exactly why it did not, in words for the person who clicked. */
export function decisionText(decision: Decision, outcome: Result<ActionView>): string {
  if (!outcome.ok) return refusalText(outcome.error, 'decide');
  const what = describeAction(outcome.value);
  return decision === 'approve'
    ? `:white_check_mark: You approved ${what}; it runs now.`
    : `:x: You rejected ${what}.`;
}

/**
 * Decides one action as the person behind the Slack user: the command checks the role, applies
 * the approval rules (comparing people), records and audits; the card is refreshed by the pipeline (the trigger and the notify worker), not here.
 * Returns what to tell the person.
 */
export async function decideAs(
  context: SlackContext,
  actor: SlackUser,
  actionId: string,
  decision: Decision,
  reason: string | undefined,
): Promise<{ readonly decided: boolean; readonly text: string }> {
  const { handle, clock } = context;
  const person = await slackPerson(context, actor);
  if (!person.ok) return { decided: false, text: refusalText(person.error, 'decide') };
  const result = await decideAction({ handle, clock }, person.value, { actionId, decision, reason });
  return { decided: result.ok, text: decisionText(decision, result) };
}

/** Starts (or finds) the investigation of an alert as the Slack user; returns what to tell them. */
export async function investigateAs(
  context: SlackContext,
  actor: SlackUser,
  alertId: string,
): Promise<{ readonly started: boolean; readonly text: string }> {
  const { handle, clock } = context;
  const person = await slackPerson(context, actor);
  if (!person.ok) return { started: false, text: refusalText(person.error) };
  const result = await startInvestigation({ handle, clock }, person.value, { alertId });
  if (!result.ok) return { started: false, text: refusalText(result.error, 'start') };
  const url = consoleInvestigationUrl(context.render.publicUrl, result.value.investigationId);
  const name = link(url, `Investigation #${result.value.number}`);
  return result.value.created
    ? { started: true, text: `:mag: ${name} started.` }
    : { started: false, text: `:mag: This alert is already being investigated: ${name}.` };
}

export function renderRejectModal(action: ActionView, channel: string | null): Record<string, unknown> {
  return {
    type: 'modal',
    callback_id: REJECT_MODAL_CALLBACK,
    private_metadata: JSON.stringify({ actionId: action.id, channel }),
    title: { type: 'plain_text', text: cutPlain(`Reject action #${action.number}`, 24) },
    submit: { type: 'plain_text', text: 'Reject' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `${describeAction(action)}\n${escapeAndCut(action.reason, 2500)}`,
        },
      },
      {
        type: 'input',
        block_id: REJECT_BLOCKS.reason.block,
        label: { type: 'plain_text', text: 'Why do you reject it?' },
        element: {
          type: 'plain_text_input',
          action_id: REJECT_BLOCKS.reason.action,
          multiline: true,
          min_length: 1,
          max_length: 2000,
        },
      },
    ],
  };
}

const countBy = <T>(items: readonly T[], key: (item: T) => string): string =>
  [
    ...items.reduce(
      (counts, item) => counts.set(key(item), (counts.get(key(item)) ?? 0) + 1),
      new Map<string, number>(),
    ),
  ]
    .map(([name, count]) => `${escapeMrkdwn(name)} ${count}`)
    .join(' · ');

/** Lines joined under a limit, dropping whole lines (each already escaped). */
function joined(lines: readonly string[], max = 2900): string {
  let out = '';
  for (const line of lines) {
    const next = out === '' ? line : `${out}\n${line}`;
    if (next.length > max) break;
    out = next;
  }
  return out;
}

/** One investigation as `/vigil investigation` shows it: status, alerts, entities by verdict, findings, pending and failed actions. */
export function renderInvestigationDetail(detail: InvestigationDetail, publicUrl: string): Block[] {
  const status = INVESTIGATION_STATUS_LABELS[detail.status as InvestigationStatus] ?? detail.status;
  const url = consoleInvestigationUrl(publicUrl, detail.id);
  const section = (text: string): Block => ({ type: 'section', text: { type: 'mrkdwn', text } });
  const blocks: Block[] = [
    section(
      `:mag: ${link(url, `Investigation #${detail.number}`)} · *${escapeMrkdwn(status)}* · automation ${escapeMrkdwn(detail.automation)}`,
    ),
    section(
      joined([
        `*Alerts (${detail.alerts.length})*`,
        ...detail.alerts
          .slice(0, 10)
          .map(
            (alert) =>
              `• #${alert.number} ${escapeAndCut(alert.title, 150)} · ${escapeMrkdwn(alert.severity)} · ${escapeMrkdwn(alert.status)}`,
          ),
        ...(detail.alerts.length > 10 ? [`_and ${detail.alerts.length - 10} more_`] : []),
      ]),
    ),
    section(
      `*Entities (${detail.entities.length})*${detail.entities.length === 0 ? '' : `\n${countBy(detail.entities, (entity) => entity.verdict)}`}`,
    ),
    section(
      joined([
        `*Findings (${detail.findings.length})*`,
        ...detail.findings
          .slice(0, 10)
          .map((finding) => `• ${escapeAndCut(finding.title, 200)} (${escapeMrkdwn(finding.verdict)})`),
        ...(detail.findings.length > 10 ? [`_and ${detail.findings.length - 10} more_`] : []),
      ]),
    ),
    section(
      joined([
        `*Waiting for approval (${detail.pendingActions.length})*`,
        ...detail.pendingActions.slice(0, 10).map((action) => {
          const approvals = action.decisions.filter((decision) => decision.decision === 'approve').length;
          return `• ${describeAction(action)} · approvals ${approvals}/${action.approvalsNeeded} · ${escapeAndCut(action.reason, 200)}`;
        }),
        ...(detail.pendingActions.length > 10 ? [`_and ${detail.pendingActions.length - 10} more_`] : []),
      ]),
    ),
  ];
  // Why an action failed belongs where people look, not only in the server's log.
  const failed = detail.actions.filter((action) => action.status === 'failed');
  if (failed.length > 0) {
    blocks.push(
      section(
        joined([
          `*Failed (${failed.length})*`,
          ...failed
            .slice(0, 10)
            .map(
              (action) =>
                `• ${describeAction(action)}: ${escapeAndCut(action.error ?? 'no reason given', 300)}`,
            ),
        ]),
      ),
    );
  }
  return blocks;
}

/** An investigation by ID or number. */
export async function findInvestigation(
  context: SlackContext,
  ref: string,
): Promise<InvestigationDetail | null> {
  let id = ref;
  if (/^\d{1,18}$/.test(ref)) {
    const row = await context.handle.db
      .selectFrom('investigations')
      .select('id')
      .where('number', '=', ref)
      .executeTakeFirst();
    if (row === undefined) return null;
    id = row.id;
  }
  return getInvestigationDetail(context.handle.db, id);
}

/** Actions waiting for this person's decision: pending, not asked for by them, not yet decided by them. */
export function waitingFor(person: ActingPerson, actions: readonly ActionView[]): ActionView[] {
  const key = principalKey(person.actor);
  return actions.filter(
    (action) =>
      action.status === 'pending_approval' &&
      principalKey(action.requestedBy) !== key &&
      !action.decisions.some((decision) => decision.approverKey === key),
  );
}

/** App Home's "Actions waiting for my approval", each with Approve and Reject; null for those who cannot decide. */
export async function waitingForMeBlocks(context: SlackContext, actor: SlackUser): Promise<Block[]> {
  const person = await slackPerson(context, actor);
  if (!person.ok || !authorize(person.value.role, 'action.decide').ok) return [];
  const waiting = waitingFor(
    person.value,
    await listActions(context.handle.db, { statuses: ['pending_approval'], limit: 100 }),
  );
  const blocks: Block[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `*Actions waiting for my approval (${waiting.length})*` },
    },
  ];
  if (waiting.length === 0) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: '_None._' }] });
  }
  for (const action of waiting.slice(0, HOME_ACTIONS_SHOWN)) {
    const approvals = action.decisions.filter((decision) => decision.decision === 'approve').length;
    const url = consoleInvestigationUrl(context.render.publicUrl, action.investigationId);
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: joined([
          `${describeAction(action)} · approvals ${approvals}/${action.approvalsNeeded} · ${link(url, 'investigation')}`,
          escapeAndCut(action.reason, 1000),
        ]),
      },
    });
    blocks.push(decisionButtons(action.id));
  }
  if (waiting.length > HOME_ACTIONS_SHOWN) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `+${waiting.length - HOME_ACTIONS_SHOWN} more in Vigil` }],
    });
  }
  blocks.push({ type: 'divider' });
  return blocks;
}

const HOME_ACTIONS_SHOWN = 10;

/** Investigate, Approve and Reject on alert cards, and the Reject modal. */
export function registerApprovals(app: App, context: SlackContext): void {
  app.action<BlockAction<ButtonAction>>(CARD_ACTIONS.investigate, async ({ ack, body, action }) => {
    await ack();
    const channel = channelOf(body);
    const actor = slackUser(body.user);
    const value = decodeCardActionValue(action.value);
    if (value === null) {
      await tell(context, channel, actor.id, slackRefusal(UNREADABLE_BUTTON));
      return;
    }
    const outcome = await investigateAs(context, actor, value.alertId);
    // A start shows on the card through the pipeline; only a refusal or a repeat needs words.
    if (!outcome.started) await tell(context, channel, actor.id, outcome.text);
  });

  app.action<BlockAction<ButtonAction>>(CARD_ACTIONS.approve, async ({ ack, body, action }) => {
    await ack();
    const actor = slackUser(body.user);
    const outcome = await decideAs(context, actor, action.value ?? '', 'approve', undefined);
    // Success shows on the card; every refusal (and a recorded first approval) is told.
    if (!outcome.decided) await tell(context, channelOf(body), actor.id, outcome.text);
  });

  app.action<BlockAction<ButtonAction>>(CARD_ACTIONS.reject, async ({ ack, body, action }) => {
    await ack();
    const channel = channelOf(body);
    const actor = slackUser(body.user);
    const actionId = action.value ?? '';
    const found = await getAction(context.handle.db, actionId);
    const person = await slackPerson(context, actor);
    if (
      found === null ||
      found.status !== 'pending_approval' ||
      !person.ok ||
      !authorize(person.value.role, 'action.decide').ok
    ) {
      // Refused (and audited) now rather than after the form is filled in.
      const refused = await decideAs(context, actor, actionId, 'reject', undefined);
      await tell(context, channel, actor.id, refused.text);
      return;
    }
    // trigger_id is valid for 3 s after the click, so the modal opens before anything slower.
    await context.client.views.open({
      trigger_id: body.trigger_id,
      view: renderRejectModal(found, channel) as never,
    });
  });

  app.view<ViewSubmitAction>(REJECT_MODAL_CALLBACK, async ({ ack, body, view }) => {
    const reason = view.state.values[REJECT_BLOCKS.reason.block]?.[REJECT_BLOCKS.reason.action]?.value ?? '';
    if (reason.trim() === '') {
      await ack({
        response_action: 'errors',
        errors: { [REJECT_BLOCKS.reason.block]: 'Say why you reject it.' },
      });
      return;
    }
    await ack();
    const metadata = (() => {
      try {
        return rejectMetadata.safeParse(JSON.parse(view.private_metadata));
      } catch {
        return null;
      }
    })();
    if (metadata === null || !metadata.success) {
      context.logger.warn({ callbackId: view.callback_id }, 'reject modal without usable metadata');
      return;
    }
    const actor = slackUser(body.user);
    const outcome = await decideAs(context, actor, metadata.data.actionId, 'reject', reason.trim());
    await tell(context, metadata.data.channel, actor.id, outcome.text);
  });
}
