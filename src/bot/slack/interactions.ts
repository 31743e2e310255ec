import type { App, BlockAction, ButtonAction, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { assignAlert } from '../../app/commands/assign-alert.js';
import { changeAlertStatus } from '../../app/commands/change-alert-status.js';
import {
  AlertErrorCode,
  CLASSIFICATIONS,
  type Classification,
  DETERMINATIONS,
  type Determination,
  type DomainError,
  type StatusAction,
} from '../../domain/index.js';
import { type AlertChange, getAlert } from '../../storage/alert.repository.js';
import { getIncident, resolveIncident } from '../../storage/incident.repository.js';
import { requestCardRefresh } from '../../storage/slack-route.repository.js';
import { CARD_ACTIONS, type CardActionId, decodeCardActionValue, isCardActionId } from '../card-actions.js';
import {
  type Attempt,
  GONE,
  incidentPartlyResolved,
  NO_INCIDENT,
  type Refusal,
  type RefusalTone,
  refusal,
  UNREADABLE_BUTTON,
} from '../card-model/index.js';
import { type SlackContext, type SlackUser, slackPerson, slackUser } from './context.js';
import {
  INCIDENT_RESOLVE_MODAL_CALLBACK,
  RESOLVE_BLOCKS,
  RESOLVE_MODAL_CALLBACK,
  renderIncidentResolveModal,
  renderResolveModal,
} from './render.js';

const STATUS_ACTIONS: Partial<Record<CardActionId, StatusAction>> = {
  [CARD_ACTIONS.startProgress]: 'start_progress',
  [CARD_ACTIONS.reopen]: 'reopen',
};

const incidentModalMetadata = z.object({ incidentId: z.uuid(), channel: z.string().nullable() });

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
    await tellUser(context, channel, actor.id, refusalText(person.error, 'change'));
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
  await tellUser(context, channel, actor.id, refusalText(result.error, 'change'));
  if (result.error.code === AlertErrorCode.VersionConflict && channel !== null) {
    await requestCardRefresh(handle, alertId, channel);
  }
}

const TONE_MARK: Readonly<Record<RefusalTone, string>> = {
  forbidden: ':no_entry:',
  warning: ':warning:',
  progress: ':hourglass_flowing_sand:',
  info: ':information_source:',
};

/** A refusal from the model's table, as Slack tells it: its tone as an emoji. */
export const slackRefusal = (refused: Refusal): string => `${TONE_MARK[refused.tone]} ${refused.text}`;

/** Why a command (or, with `attempt`, a click) was refused, in the words both platforms use. */
export const refusalText = (error: DomainError, attempt?: Attempt): string =>
  slackRefusal(refusal(error, attempt));

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
        await tellUser(context, channel, actor.id, slackRefusal(UNREADABLE_BUTTON));
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
        await tellUser(context, channel, actor.id, slackRefusal({ tone: 'warning', text: GONE.alert }));
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
    const form = resolveForm(view, modalMetadata);
    if (form.kind === 'invalid') {
      await ack({ response_action: 'errors', errors: { [RESOLVE_BLOCKS.classification.block]: form.error } });
      return;
    }
    await ack();
    if (form.kind === 'no_metadata') {
      context.logger.warn({ callbackId: view.callback_id }, 'resolve modal without usable metadata');
      return;
    }
    const { alertId, version, channel } = form.metadata;
    await changeAs(
      context,
      slackUser(body.user),
      alertId,
      {
        type: 'status',
        request: { action: 'resolve', ...form.resolution, expectedVersion: version },
      },
      channel,
    );
  });

  // "Resolve incident": the same form, then every open alert of the incident in one transaction.
  app.action<BlockAction<ButtonAction>>(CARD_ACTIONS.resolveIncident, async ({ ack, body, action }) => {
    await ack();
    const channel =
      body.channel?.id ?? (body.container as { channel_id?: string } | undefined)?.channel_id ?? null;
    const actor = slackUser(body.user);
    const incident = z.uuid().safeParse(action.value).success
      ? await getIncident(context.handle.db, action.value ?? '')
      : null;
    if (incident === null) {
      await tellUser(context, channel, actor.id, slackRefusal(NO_INCIDENT));
      return;
    }
    await context.client.views.open({
      trigger_id: body.trigger_id,
      view: renderIncidentResolveModal(
        { ...incident, name: incident.displayName ?? `Defender incident ${incident.graphId}` },
        { incidentId: incident.id, channel },
      ) as never,
    });
  });

  app.view<ViewSubmitAction>(INCIDENT_RESOLVE_MODAL_CALLBACK, async ({ ack, body, view }) => {
    const form = resolveForm(view, incidentModalMetadata);
    if (form.kind === 'invalid') {
      await ack({ response_action: 'errors', errors: { [RESOLVE_BLOCKS.classification.block]: form.error } });
      return;
    }
    await ack();
    if (form.kind === 'no_metadata') {
      context.logger.warn({ callbackId: view.callback_id }, 'incident resolve modal without usable metadata');
      return;
    }
    const actor = slackUser(body.user);
    const { handle, clock } = context;
    const person = await slackPerson(context, actor);
    const result = !person.ok
      ? person
      : await resolveIncident(
          handle,
          form.metadata.incidentId,
          person.value.actor,
          person.value.role,
          clock,
          form.resolution,
        );
    if (!result.ok)
      await tellUser(context, form.metadata.channel, actor.id, refusalText(result.error, 'resolve'));
    else if (result.value.refused.length > 0)
      await tellUser(
        context,
        form.metadata.channel,
        actor.id,
        slackRefusal(
          incidentPartlyResolved(
            result.value.resolved.length,
            result.value.refused.length,
            result.value.refused[0]?.reason ?? '',
          ),
        ),
      );
  });
}

type ResolveForm<T> =
  | { readonly kind: 'invalid'; readonly error: string }
  | { readonly kind: 'no_metadata' }
  | {
      readonly kind: 'ok';
      readonly metadata: T;
      readonly resolution: {
        readonly classification: Classification;
        readonly determination?: Determination;
        readonly comment?: string;
      };
    };

/** Reads a submitted Resolve form (an alert's or an incident's): its classification, comment and metadata. */
function resolveForm<T>(view: ViewSubmitAction['view'], metadata: z.ZodType<T>): ResolveForm<T> {
  const values = view.state.values;
  const classification = z
    .enum(CLASSIFICATIONS)
    .safeParse(
      values[RESOLVE_BLOCKS.classification.block]?.[RESOLVE_BLOCKS.classification.action]?.selected_option
        ?.value,
    );
  if (!classification.success) return { kind: 'invalid', error: 'Pick a classification.' };
  const determination = z
    .enum(DETERMINATIONS)
    .safeParse(
      values[RESOLVE_BLOCKS.determination.block]?.[RESOLVE_BLOCKS.determination.action]?.selected_option
        ?.value,
    );
  const comment = values[RESOLVE_BLOCKS.comment.block]?.[RESOLVE_BLOCKS.comment.action]?.value?.trim() ?? '';
  const parsed = (() => {
    try {
      return metadata.safeParse(JSON.parse(view.private_metadata));
    } catch {
      return null;
    }
  })();
  if (parsed === null || !parsed.success) return { kind: 'no_metadata' };
  return {
    kind: 'ok',
    metadata: parsed.data,
    resolution: {
      classification: classification.data,
      ...(determination.success ? { determination: determination.data } : {}),
      ...(comment === '' ? {} : { comment }),
    },
  };
}
