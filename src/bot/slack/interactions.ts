import type { App, BlockAction, ButtonAction, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { assignAlert } from '../../app/commands/assign-alert.js';
import { changeAlertStatus } from '../../app/commands/change-alert-status.js';
import { AlertErrorCode, CLASSIFICATIONS, type DomainError, type StatusAction } from '../../domain/index.js';
import { type AlertChange, getAlert } from '../../storage/alert.repository.js';
import { requestCardRefresh } from '../../storage/slack-route.repository.js';
import { CARD_ACTIONS, type CardActionId, decodeCardActionValue, isCardActionId } from '../card-actions.js';
import { type SlackContext, type SlackUser, slackPerson, slackUser } from './context.js';
import { RESOLVE_BLOCKS, RESOLVE_MODAL_CALLBACK, renderResolveModal } from './render.js';

const STATUS_ACTIONS: Partial<Record<CardActionId, StatusAction>> = {
  [CARD_ACTIONS.startProgress]: 'start_progress',
  [CARD_ACTIONS.reopen]: 'reopen',
};

const modalMetadata = z.object({
  alertId: z.uuid(),
  version: z.number().int().nonnegative(),
  channel: z.string().nullable(),
});

/** Tells one person, and only them, what happened to their click. */
async function tellUser(
  context: SlackContext,
  channel: string | null,
  user: string,
  text: string,
): Promise<void> {
  if (channel === null) return;
  try {
    await context.client.chat.postEphemeral({ channel, user, text });
  } catch (error) {
    context.logger.warn({ err: error, channel }, 'could not send an ephemeral message');
  }
}

/**
 * Runs one change as the person behind the Slack user: the command checks their role and audits
 * a refusal, and the pipeline (not this handler) updates every card after a change. A refusal is
 * told to the user alone; a stale card is re-rendered so they see what changed.
 */
async function changeAs(
  context: SlackContext,
  actor: SlackUser,
  alertId: string,
  change: AlertChange,
  channel: string | null,
): Promise<void> {
  const { handle, clock } = context;
  const person = await slackPerson(context, actor);
  if (!person.ok) {
    await tellUser(context, channel, actor.id, refusalText(person.error));
    return;
  }
  const result =
    change.type === 'status'
      ? await changeAlertStatus({ handle, clock }, person.value, { alertId, request: change.request })
      : await assignAlert({ handle, clock }, person.value, {
          alertId,
          assignee: change.assignee,
          expectedVersion: change.expectedVersion,
        });
  if (result.ok) return;
  await tellUser(context, channel, actor.id, refusalText(result.error));
  if (result.error.code === AlertErrorCode.VersionConflict && channel !== null) {
    await requestCardRefresh(handle, alertId, channel);
  }
}

export function refusalText(error: DomainError): string {
  const prefix =
    error.code === 'auth.forbidden' || error.code.startsWith('person.') ? ':no_entry: ' : ':warning: ';
  return `${prefix}${error.message}`;
}

export function registerInteractions(app: App, context: SlackContext): void {
  // The Open in Vigil link button also sends block_actions; it needs only its acknowledgement.
  app.action('alert.open', async ({ ack }) => {
    await ack();
  });
  app.action<BlockAction<ButtonAction>>(
    /^alert\.(start_progress|resolve|reopen|assign_to_me)$/,
    async ({ ack, body, action }) => {
      // Acknowledge first: Slack shows an error to the user after 3 s; everything else runs afterwards.
      await ack();
      const channel =
        body.channel?.id ?? (body.container as { channel_id?: string } | undefined)?.channel_id ?? null;
      const actor = slackUser(body.user);
      if (!isCardActionId(action.action_id)) return;
      const value = decodeCardActionValue(action.value);
      if (value === null) {
        await tellUser(
          context,
          channel,
          actor.id,
          ':warning: This button does not name an alert; nothing was changed.',
        );
        return;
      }
      const status = STATUS_ACTIONS[action.action_id];
      if (status !== undefined) {
        await changeAs(
          context,
          actor,
          value.alertId,
          { type: 'status', request: { action: status, expectedVersion: value.version } },
          channel,
        );
        return;
      }
      if (action.action_id === CARD_ACTIONS.assignToMe) {
        await changeAs(
          context,
          actor,
          value.alertId,
          { type: 'assign', assignee: actor, expectedVersion: value.version },
          channel,
        );
        return;
      }
      // Resolve: a viewer is refused (and audited, by the command) here rather than after filling in the form.
      const person = await slackPerson(context, actor);
      if (!person.ok || person.value.role === 'viewer') {
        await changeAs(
          context,
          actor,
          value.alertId,
          { type: 'status', request: { action: 'resolve' } },
          channel,
        );
        return;
      }
      const alert = await getAlert(context.handle.db, value.alertId);
      if (alert === null) {
        await tellUser(context, channel, actor.id, ':warning: That alert no longer exists.');
        return;
      }
      // trigger_id is valid for 3 s after the click, so the modal opens before anything slower.
      await context.client.views.open({
        trigger_id: body.trigger_id,
        view: renderResolveModal(alert, { alertId: alert.id, version: value.version, channel }) as never,
      });
    },
  );

  app.view<ViewSubmitAction>(RESOLVE_MODAL_CALLBACK, async ({ ack, body, view }) => {
    const values = view.state.values;
    const classification =
      values[RESOLVE_BLOCKS.classification.block]?.[RESOLVE_BLOCKS.classification.action]?.selected_option
        ?.value;
    const comment = values[RESOLVE_BLOCKS.comment.block]?.[RESOLVE_BLOCKS.comment.action]?.value ?? undefined;
    const metadata = (() => {
      try {
        return modalMetadata.safeParse(JSON.parse(view.private_metadata));
      } catch {
        return null;
      }
    })();
    const parsedClassification = z.enum(CLASSIFICATIONS).safeParse(classification);
    if (!parsedClassification.success) {
      await ack({
        response_action: 'errors',
        errors: { [RESOLVE_BLOCKS.classification.block]: 'Pick a classification.' },
      });
      return;
    }
    await ack();
    if (metadata === null || !metadata.success) {
      context.logger.warn({ callbackId: view.callback_id }, 'resolve modal without usable metadata');
      return;
    }
    const { alertId, version, channel } = metadata.data;
    await changeAs(
      context,
      slackUser(body.user),
      alertId,
      {
        type: 'status',
        request: {
          action: 'resolve',
          classification: parsedClassification.data,
          expectedVersion: version,
          ...(comment === undefined || comment === null || comment.trim() === ''
            ? {}
            : { comment: comment.trim() }),
        },
      },
      channel,
    );
  });
}
