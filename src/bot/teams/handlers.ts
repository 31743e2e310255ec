import { assignAlert } from '../../app/commands/assign-alert.js';
import { changeAlertStatus } from '../../app/commands/change-alert-status.js';
import { decideAction } from '../../app/commands/decide-action.js';
import { grantRole, linkIdentity, personOfIdentity, unlinkIdentity } from '../../app/commands/people.js';
import { subscribeConversation, unsubscribeConversation } from '../../app/commands/routes.js';
import { startInvestigation } from '../../app/commands/start-investigation.js';
import { identify } from '../../app/identity.js';
import {
  ACTION_LABELS,
  type ActingPerson,
  type Actor,
  AlertErrorCode,
  ApprovalErrorCode,
  CLASSIFICATIONS,
  type Classification,
  type Clock,
  DETERMINATIONS,
  type Determination,
  EXCEPTION_REASONS,
  INVESTIGATION_STATUS_LABELS,
  ROLES,
  type Role,
  SEVERITIES,
} from '../../domain/index.js';
import type { Logger } from '../../logger.js';
import { type AlertChange, findAlertId, getAlert, listAlerts } from '../../storage/alert.repository.js';
import { appendAudit } from '../../storage/audit.repository.js';
import { cardExtras } from '../../storage/card-view.repository.js';
import type { Db, DbHandle } from '../../storage/db.js';
import { recordUpn } from '../../storage/identity-upn.repository.js';
import { cardIncident, resolveIncident } from '../../storage/incident.repository.js';
import { type ActionView, getAction } from '../../storage/investigation-action.repository.js';
import { getInvestigationDetail } from '../../storage/investigation-view.repository.js';
import type { RolePolicy } from '../../storage/person.repository.js';
import {
  deactivateTeamsConversation,
  getTeamsConversation,
  saveTeamsConversation,
} from '../../storage/teams-conversation.repository.js';
import { CARD_ACTIONS, type CardActionId, isCardActionId } from '../card-actions.js';
import { GONE, incidentPartlyResolved, NO_INCIDENT, refusal, statusWord } from '../card-model/index.js';
import { parseCommand, type VigilCommand } from '../command-parser.js';
import { type ChatFormat, runOnCallCommand } from '../oncall-commands.js';
import { roleGrantedText, runTokenCommand, TOKEN_NEEDS_PERSONAL_CHAT } from '../people-commands.js';
import { runRemediationCommand } from '../remediation-commands.js';
import { exportRefusal } from '../remediation-export.js';
import {
  adaptiveCardInvokeValue,
  cardActionData,
  commandText,
  conversationKind,
  conversationRoot,
  decisionActionData,
  type InboundActivity,
  inboundActivity,
  remediationActionData,
  remediationFormData,
} from './activity.js';
import { inert } from './card-text.js';
import type { ConnectorClient, OutboundActivity } from './connector.js';
import { type GateRefusal, gateRefusal, type TeamsGate } from './gate.js';
import type { InvokeAnswer, TurnLogic } from './port.js';
import {
  activeRemediationsText,
  createFromInvoke,
  REMEDIATION_CREATE_VERB,
  remediationActionCard,
  remediationRefusal,
  renderExportCard,
  renderRemediationForm,
} from './remediation.js';
import {
  ADAPTIVE_CARD_CONTENT_TYPE,
  type AdaptiveCard,
  type CardNotice,
  type RenderOptions,
  refusalNotice,
  renderAlertCard,
  renderMessageCard,
} from './render.js';
import { describeSubscription, parseSubscription } from './subscription.js';

export interface TeamsHandlerDeps {
  readonly handle: DbHandle;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly connector: ConnectorClient;
  readonly render: RenderOptions;
  readonly roles: RolePolicy;
  readonly gate: TeamsGate;
}

type TeamsUser = Extract<Actor, { kind: 'user' }>;

// The invoke answers Universal Actions document (and botbuilder's ActivityHandler gives).
const cardAnswer = (card: AdaptiveCard): InvokeAnswer => ({
  status: 200,
  body: { statusCode: 200, type: ADAPTIVE_CARD_CONTENT_TYPE, value: card },
});
const errorAnswer = (status: number, code: string, message: string): InvokeAnswer => ({
  status,
  body: { statusCode: status, type: 'application/vnd.microsoft.error', value: { code, message } },
});

export const HELP_TEXT = [
  'Vigil posts security alerts here and lets you act on them.',
  '',
  '- **help**: this message',
  '- **alerts**: the ten newest open alerts',
  '- **alert** *number*: one alert as a card (for example `alert 42`)',
  '- **investigate** *alert number*: start an investigation of the alert (responders)',
  '- **investigation** *number*: where an investigation stands and what waits for approval',
  '- **remediate**: a form to request remediation of devices (responders)',
  '- **remediations**: the active remediations with their due dates',
  '- **remediations export**: a link to export every remediation as CSV from the Vigil console (approvers)',
  '- **remediation complete** *R-7* [how]: mark a remediation completed (responders)',
  `- **remediation exception** *R-7 reason YYYY-MM-DD justification*: file an exception until that day (approvers; reasons: ${EXCEPTION_REASONS.join(', ')})`,
  `- **subscribe** [severity>=high] [source=alertmanager]: post matching alerts in this conversation (admins; severities: ${SEVERITIES.join(', ')})`,
  '- **unsubscribe**: stop posting alerts here',
  '- **resolve** *number* *true_positive|false_positive|expected* [comment]: resolve an alert (responders)',
  '- **silence add** *30m|2h|1d* *label=value...* *why*, **silence list**, **silence expire** *id*: mute matching alerts (responders)',
  '- **oncall**: who is on call now and next',
  '- **link** *identity* *identity*: make the second identity (teams:<tenant>:<object ID>, slack:<team>:<user>, oidc:...) the same person as the first (admins); **unlink** *identity* *identity* revokes it',
  `- **role** *identity* *${ROLES.join('|')}*: grant the person with that identity a role (admins)`,
  '- **token** [name]: a personal API token for you, shown once (only in a personal chat with me); **token list**: your tokens; **token revoke** *id*: end one',
].join('\n');

/** On-call and silence answers in Teams: names, times in UTC, text made inert. */
const TEAMS_FORMAT: ChatFormat = {
  person: (person) => inert(person.name, 100),
  when: (date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  text: (value) => inert(value, 300),
  refused: (message) => `Not done: ${message}`,
  forbidden: (message) => message,
  command: (words) => `\`${words}\``,
};

/**
 * What `link`, `unlink` and `role` answer when the person is named by a Slack mention: Teams
 * mentions carry no Entra object ID, so an identity key names them (looked up for admins only).
 */
const NAME_BY_IDENTITY =
  'Name the person by one of their identities (teams:<tenant>:<object ID>, slack:<team>:<user> or oidc:...), not a Slack mention.';

/** What `route` answers on Teams: a conversation chooses its own alerts there. */
const ROUTES_ON_TEAMS =
  'In Teams a conversation chooses its own alerts: mention me there with **subscribe** [severity>=high] [source=...] (admins), and **unsubscribe** to stop. `route` manages Slack channels, from Slack (`/vigil route ...`).';

/** The commands Teams answers in text, as the person who wrote them. */
type TextCommand = Exclude<
  VigilCommand,
  { type: 'help' | 'alerts' | 'alert' | 'investigation' | 'remediate' | 'remediations' | `route.${string}` }
>;

/** The Teams user behind an activity, with their tenant: the identity `teams:<tenant>:<object ID>`. */
const userOf = (activity: InboundActivity): TeamsUser | null => {
  const aad = activity.from?.aadObjectId;
  if (aad === undefined || aad === '') return null;
  const name = activity.from?.name;
  const tenant = activity.conversation.tenantId ?? activity.channelData?.tenant?.id;
  return {
    kind: 'user',
    platform: 'teams',
    id: aad,
    ...(name === undefined || name === '' ? {} : { name }),
    ...(tenant === undefined || tenant === '' ? {} : { tenant }),
  };
};

/** The verbs that change the alert itself; Investigate, Approve and Reject have their own paths. */
type AlertVerb = Exclude<
  CardActionId,
  | typeof CARD_ACTIONS.investigate
  | typeof CARD_ACTIONS.approve
  | typeof CARD_ACTIONS.reject
  | typeof CARD_ACTIONS.resolveIncident
  | typeof CARD_ACTIONS.completeRemediation
  | typeof CARD_ACTIONS.fileException
>;

/** Finds an investigation by its UUID or its short number (`7`, `#7`). */
async function findInvestigationId(db: Db, ref: string): Promise<string | null> {
  const trimmed = ref.trim().replace(/^#/, '');
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(trimmed)) return trimmed;
  if (!/^\d{1,18}$/.test(trimmed)) return null;
  const row = await db
    .selectFrom('investigations')
    .select('id')
    .where('number', '=', trimmed as never)
    .executeTakeFirst();
  return row?.id ?? null;
}

const actionName = (action: Pick<ActionView, 'kind' | 'target'>): string => {
  const { displayName, key } = action.target;
  const target = displayName === '' || displayName === key ? key : `${displayName} (${key})`;
  return `${ACTION_LABELS[action.kind]} on ${inert(target, 200)}`;
};

/** A determination the form offered, or none (left empty, or not one of Graph's). */
const determinationOf = (value: string | undefined): Determination | undefined =>
  (DETERMINATIONS as readonly string[]).includes(value ?? '') ? (value as Determination) : undefined;

function changeFor(
  verb: AlertVerb,
  actor: TeamsUser,
  data: {
    version: number;
    classification?: string | undefined;
    determination?: string | undefined;
    comment?: string | undefined;
  },
): AlertChange {
  const expectedVersion = data.version;
  switch (verb) {
    case CARD_ACTIONS.startProgress:
      return { type: 'status', request: { action: 'start_progress', expectedVersion } };
    case CARD_ACTIONS.reopen:
      return { type: 'status', request: { action: 'reopen', expectedVersion } };
    case CARD_ACTIONS.assignToMe:
      return { type: 'assign', assignee: actor, expectedVersion };
    case CARD_ACTIONS.resolve: {
      // An unknown classification is left out, so the domain's "Resolving needs a classification" explains it.
      const classification = (CLASSIFICATIONS as readonly string[]).includes(data.classification ?? '')
        ? (data.classification as Classification)
        : undefined;
      const comment = data.comment?.trim() === '' ? undefined : data.comment?.trim();
      const determination = determinationOf(data.determination);
      return {
        type: 'status',
        request: { action: 'resolve', classification, determination, comment, expectedVersion },
      };
    }
  }
}

/** Vigil's logic for every Teams activity, behind the Bot Framework port. */
export function teamsTurn(deps: TeamsHandlerDeps): TurnLogic {
  const { handle, clock, logger, connector, render } = deps;
  const db = handle.db;
  /** What the commands of src/app/commands need. */
  const commandDeps = { handle, clock };

  async function reply(activity: InboundActivity, message: OutboundActivity, threaded = true): Promise<void> {
    try {
      // Reply into the thread the person wrote in (the full conversation ID keeps `;messageid=`).
      await connector.send(activity.serviceUrl, activity.conversation.id, {
        ...message,
        ...(activity.id === undefined || !threaded ? {} : { replyToId: activity.id }),
      });
    } catch (error) {
      logger.warn({ err: error, conversationId: activity.conversation.id }, 'could not reply in teams');
    }
  }
  /**
   * The person behind the activity's sender. Someone met for the first time gets their e-mail
   * looked up by a job, in the team (or conversation) they wrote in, after this answer.
   */
  const personOf = (activity: InboundActivity, actor: TeamsUser) =>
    identify(db, actor, deps.roles, {
      serviceUrl: activity.serviceUrl,
      conversationId:
        activity.channelData?.team?.id ??
        activity.channelData?.teamsTeamId ??
        conversationRoot(activity.conversation.id),
    });

  const replyText = (activity: InboundActivity, text: string, threaded = true) =>
    reply(activity, { type: 'message', text, textFormat: 'markdown' }, threaded);

  const replyCard = (activity: InboundActivity, card: AdaptiveCard) =>
    reply(activity, {
      type: 'message',
      attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: card }],
    });

  async function remember(activity: InboundActivity): Promise<string> {
    const id = conversationRoot(activity.conversation.id);
    const kind = conversationKind(activity);
    const channelData = activity.channelData;
    await saveTeamsConversation(db, {
      id,
      kind,
      serviceUrl: activity.serviceUrl,
      tenantId: activity.conversation.tenantId ?? channelData?.tenant?.id ?? null,
      teamId: channelData?.team?.id ?? channelData?.teamsTeamId ?? null,
      channelId: channelData?.channel?.id ?? channelData?.teamsChannelId ?? (kind === 'channel' ? id : null),
      name: activity.conversation.name ?? channelData?.channel?.name ?? channelData?.team?.name ?? null,
      botId: activity.recipient?.id ?? null,
      userAadObjectId: kind === 'personal' ? (activity.from?.aadObjectId ?? null) : null,
    });
    return id;
  }

  async function onInvoke(activity: InboundActivity): Promise<InvokeAnswer> {
    if (activity.name !== 'adaptiveCard/action') return { status: 501, body: undefined };
    // Validated in the order botbuilder's ActivityHandler does, with its answers.
    if (activity.value === undefined || activity.value === null)
      return errorAnswer(400, 'BadRequest', 'Missing value property');
    const value = adaptiveCardInvokeValue.safeParse(activity.value);
    if (!value.success) return errorAnswer(400, 'BadRequest', 'Missing action property');
    const action = value.data.action;
    if (action.type !== 'Action.Execute') {
      return errorAnswer(400, 'NotSupported', `The action '${action.type}' is not supported.`);
    }
    if (action.verb === REMEDIATION_CREATE_VERB) return onRemediationCreate(activity, action.data);
    if (action.verb === undefined || !isCardActionId(action.verb)) {
      return errorAnswer(400, 'BadRequest', `Vigil has no action '${action.verb ?? ''}'.`);
    }
    if (action.verb === CARD_ACTIONS.completeRemediation || action.verb === CARD_ACTIONS.fileException)
      return onRemediationAction(activity, action.verb, action.data);
    if (action.verb === CARD_ACTIONS.approve || action.verb === CARD_ACTIONS.reject) {
      return onDecision(activity, action.verb === CARD_ACTIONS.approve ? 'approve' : 'reject', action.data);
    }
    const data = cardActionData.safeParse(action.data);
    if (!data.success)
      return errorAnswer(400, 'BadRequest', 'The card data does not name an alert and version.');
    const actor = userOf(activity);
    if (actor === null)
      return cardAnswer(
        renderMessageCard(
          'Vigil could not tell who you are (no Entra ID object ID), so nothing was changed.',
        ),
      );

    const person = await personOf(activity, actor);
    if (!person.ok) return cardAnswer(renderMessageCard(person.error.message));
    await recordUpn(db, actor, activity.from?.userPrincipalName);
    if (action.verb === CARD_ACTIONS.investigate) {
      const started = await startInvestigation({ handle, clock }, person.value, {
        alertId: data.data.alertId,
      });
      if (!started.ok) {
        if (started.error.code === AlertErrorCode.NotFound) return cardAnswer(renderMessageCard(GONE.alert));
        return cardAnswer(await alertCard(data.data.alertId, refusalNotice(refusal(started.error, 'start'))));
      }
      const { number, created } = started.value;
      return cardAnswer(
        await alertCard(data.data.alertId, {
          style: 'good',
          text: created
            ? `Investigation #${number} started: its proposed actions will appear on this card.`
            : `Already under investigation: investigation #${number}.`,
        }),
      );
    }
    if (action.verb === CARD_ACTIONS.resolveIncident)
      return cardAnswer(
        await alertCard(
          data.data.alertId,
          await resolveIncidentOf(person.value.actor, person.value.role, data.data),
        ),
      );
    const change = changeFor(action.verb, person.value.actor, data.data);
    const result =
      change.type === 'status'
        ? await changeAlertStatus({ handle, clock }, person.value, {
            alertId: data.data.alertId,
            request: change.request,
          })
        : await assignAlert({ handle, clock }, person.value, {
            alertId: data.data.alertId,
            assignee: change.assignee,
            expectedVersion: change.expectedVersion,
          });
    if (result.ok)
      return cardAnswer(
        renderAlertCard({ ...result.value.alert, ...(await cardExtras(db, data.data.alertId)) }, render),
      );
    if (result.error.code === AlertErrorCode.NotFound) return cardAnswer(renderMessageCard(GONE.alert));
    return cardAnswer(await alertCard(data.data.alertId, refusalNotice(refusal(result.error, 'change'))));
  }

  /** The remediation form's Request: answered with the form again (naming what is wrong) or the result. */
  async function onRemediationCreate(activity: InboundActivity, raw: unknown): Promise<InvokeAnswer> {
    const data = remediationFormData.safeParse(raw ?? {});
    if (!data.success) return errorAnswer(400, 'BadRequest', 'The form data is not understood.');
    const actor = userOf(activity);
    if (actor === null)
      return cardAnswer(
        renderMessageCard(
          'Vigil could not tell who you are (no Entra ID object ID), so nothing was requested.',
        ),
      );
    return cardAnswer(
      await createFromInvoke({ handle, clock, roles: deps.roles }, actor, data.data, activity.id),
    );
  }

  /** Complete or File exception on a remediation notice, as the Teams user. */
  async function onRemediationAction(
    activity: InboundActivity,
    verb: typeof CARD_ACTIONS.completeRemediation | typeof CARD_ACTIONS.fileException,
    raw: unknown,
  ): Promise<InvokeAnswer> {
    const data = remediationActionData.safeParse(raw);
    if (!data.success) return errorAnswer(400, 'BadRequest', 'The card data does not name a remediation.');
    const actor = userOf(activity);
    if (actor === null)
      return cardAnswer(
        renderMessageCard(
          'Vigil could not tell who you are (no Entra ID object ID), so nothing was changed.',
        ),
      );
    const person = await identify(db, actor, deps.roles);
    if (!person.ok) return cardAnswer(renderMessageCard(person.error.message));
    await recordUpn(db, actor, activity.from?.userPrincipalName);
    return cardAnswer(await remediationActionCard({ handle, clock }, person.value, verb, data.data));
  }

  /** "Resolve incident" from the card's Resolve form: every open alert of the alert's incident, one classification. */
  async function resolveIncidentOf(
    actor: TeamsUser,
    role: Role,
    data: {
      alertId: string;
      classification?: string | undefined;
      determination?: string | undefined;
      comment?: string | undefined;
    },
  ): Promise<CardNotice> {
    if (!(CLASSIFICATIONS as readonly string[]).includes(data.classification ?? ''))
      return {
        style: 'warning',
        text: 'Not resolved: choose a classification, then click Resolve incident again.',
      };
    const incident = await cardIncident(db, data.alertId);
    if (incident === null) return refusalNotice(NO_INCIDENT);
    const comment = data.comment?.trim() ?? '';
    const result = await resolveIncident(handle, incident.id, actor, role, clock, {
      classification: data.classification as Classification,
      determination: determinationOf(data.determination),
      ...(comment === '' ? {} : { comment }),
    });
    if (!result.ok) return refusalNotice(refusal(result.error, 'resolve'));
    const { resolved, refused } = result.value;
    return refused.length === 0
      ? { style: 'good', text: `Incident resolved: ${resolved.length} alert(s) resolved.` }
      : refusalNotice(incidentPartlyResolved(resolved.length, refused.length, refused[0]?.reason ?? ''));
  }

  /** The alert card as it stands now, with its investigations, so an answer already shows a decision. */
  async function alertCard(alertId: string, notice?: CardNotice): Promise<AdaptiveCard> {
    const alert = await getAlert(db, alertId);
    if (alert === null) return renderMessageCard(GONE.alert);
    return renderAlertCard({ ...alert, ...(await cardExtras(db, alertId)) }, render, notice);
  }

  /** Approve or Reject on a card: the decision as the Teams user, answered with the refreshed card. */
  async function onDecision(
    activity: InboundActivity,
    decision: 'approve' | 'reject',
    raw: unknown,
  ): Promise<InvokeAnswer> {
    const data = decisionActionData.safeParse(raw);
    if (!data.success) return errorAnswer(400, 'BadRequest', 'The card data does not name an action.');
    const actor = userOf(activity);
    if (actor === null)
      return cardAnswer(
        renderMessageCard(
          'Vigil could not tell who you are (no Entra ID object ID), so nothing was decided.',
        ),
      );
    const person = await personOf(activity, actor);
    if (!person.ok) return cardAnswer(renderMessageCard(person.error.message));
    await recordUpn(db, actor, activity.from?.userPrincipalName);
    const reason = decision === 'reject' ? data.data.reason?.trim() || undefined : undefined;
    const result = await decideAction({ handle, clock }, person.value, {
      actionId: data.data.actionId,
      decision,
      reason,
    });
    if (!result.ok && result.error.code === ApprovalErrorCode.NotFound)
      return cardAnswer(renderMessageCard(GONE.action));
    const view = result.ok ? result.value : await getAction(db, data.data.actionId);
    const alertId = data.data.alertId ?? view?.alertId;
    if (alertId === undefined) return cardAnswer(renderMessageCard(GONE.action));
    let notice: CardNotice;
    if (result.ok) {
      const name = actionName(result.value);
      notice =
        result.value.status === 'rejected'
          ? { style: 'good', text: `Rejected: ${name}.` }
          : { style: 'good', text: `Approved: ${name}. It runs now.` };
    } else {
      notice = refusalNotice(refusal(result.error, 'decide'));
    }
    return cardAnswer(await alertCard(alertId, notice));
  }

  /** Runs `run` as the person who wrote the activity, or says why Vigil cannot tell who that is. */
  async function asSender(
    activity: InboundActivity,
    run: (person: ActingPerson) => Promise<string>,
  ): Promise<string> {
    const actor = userOf(activity);
    if (actor === null) return 'Vigil could not tell who you are, so nothing was done.';
    const person = await personOf(activity, actor);
    if (!person.ok) return inert(person.error.message, 300);
    return run(person.value);
  }

  /**
   * The commands answered in text, parsed by the one chat command parser
   * (src/bot/command-parser.ts) and run by the same commands (src/app/commands) as on Slack;
   * answers in Teams' words (no `/vigil` here).
   */
  async function textCommand(
    activity: InboundActivity,
    person: ActingPerson,
    command: TextCommand,
  ): Promise<string> {
    switch (command.type) {
      case 'resolve': {
        const id = await findAlertId(db, command.ref);
        if (id === null) return `No alert ${inert(command.ref, 40)}.`;
        const result = await changeAlertStatus(commandDeps, person, {
          alertId: id,
          request: {
            action: 'resolve',
            classification: command.classification,
            ...(command.comment === undefined ? {} : { comment: command.comment }),
          },
        });
        if (!result.ok) return `Not resolved: ${inert(result.error.message, 300)}`;
        return result.value.changed
          ? `Alert #${result.value.alert.number} resolved.`
          : `Alert #${result.value.alert.number} was already resolved.`;
      }
      case 'investigate': {
        const id = await findAlertId(db, command.ref);
        if (id === null) return `No alert ${inert(command.ref, 40)}. Type \`investigate <alert number>\`.`;
        const started = await startInvestigation(commandDeps, person, { alertId: id });
        if (!started.ok) return `Not started: ${inert(started.error.message, 300)}`;
        return started.value.created
          ? `Investigation #${started.value.number} started. Type \`investigation ${started.value.number}\` to follow it.`
          : `Already under investigation: investigation #${started.value.number}.`;
      }
      case 'remediation.complete':
      case 'remediation.exception': {
        const done = await runRemediationCommand(commandDeps, person, command);
        return done.ok ? inert(done.value, 300) : `Nothing changed: ${inert(done.error.message, 300)}`;
      }
      case 'silence.add':
      case 'silence.list':
      case 'silence.expire':
      case 'oncall':
        return runOnCallCommand(commandDeps, person, command, TEAMS_FORMAT);
      case 'link':
      case 'unlink':
        return linkCommand(person, command);
      case 'role':
        return roleCommand(person, command);
      case 'token.create':
        // The secret would be read by everyone in a channel or group chat: none is made there.
        if (activity.conversation.conversationType !== 'personal') return TOKEN_NEEDS_PERSONAL_CHAT;
        return runTokenCommand(commandDeps, person, command, TEAMS_FORMAT);
      case 'token.list':
      case 'token.revoke':
        return runTokenCommand(commandDeps, person, command, TEAMS_FORMAT);
      default:
        return command satisfies never;
    }
  }

  /** `link <identity> <identity>` and `unlink <identity> <identity>` (admins, decided by the commands). */
  async function linkCommand(
    person: ActingPerson,
    command: Extract<VigilCommand, { type: 'link' | 'unlink' }>,
  ): Promise<string> {
    if (command.who.kind !== 'identity') return NAME_BY_IDENTITY;
    const target = await personOfIdentity(commandDeps, person, {
      identity: command.who.key,
      refusedAction: command.type === 'link' ? 'person.link_refused' : 'person.unlink_refused',
    });
    if (!target.ok) return `Not changed: ${inert(target.error.message, 300)}`;
    const what = { personId: target.value, key: command.key };
    const done =
      command.type === 'link'
        ? await linkIdentity(commandDeps, person, what)
        : await unlinkIdentity(commandDeps, person, what);
    if (!done.ok) return `Not changed: ${inert(done.error.message, 300)}`;
    const key = inert(command.key, 300);
    const who = inert(command.who.key, 300);
    return command.type === 'link'
      ? `Linked: ${key} is now the same person as ${who}, with one set of roles.`
      : `Unlinked: ${key} is no longer ${who} and can no longer act.`;
  }

  /** `role <identity> <role>` (admins, decided by the command). */
  async function roleCommand(
    person: ActingPerson,
    command: Extract<VigilCommand, { type: 'role' }>,
  ): Promise<string> {
    if (command.who.kind !== 'identity') return NAME_BY_IDENTITY;
    const target = await personOfIdentity(commandDeps, person, {
      identity: command.who.key,
      refusedAction: 'role.grant_refused',
    });
    if (!target.ok) return `Not changed: ${inert(target.error.message, 300)}`;
    const granted = await grantRole(commandDeps, person, { personId: target.value, role: command.role });
    if (!granted.ok) return `Not changed: ${inert(granted.error.message, 300)}`;
    return roleGrantedText(inert(command.who.key, 300), command.role);
  }

  /** Subscribing is Teams' own: a conversation subscribes itself, where Slack routes name a channel. */
  function subscription(
    activity: InboundActivity,
    conversationId: string,
    verb: 'subscribe' | 'unsubscribe',
    args: readonly string[],
  ): Promise<string> {
    return asSender(activity, async (person) => {
      if (verb === 'unsubscribe') {
        const was = await unsubscribeConversation(commandDeps, person, { conversationId });
        if (!was.ok) return was.error.message;
        return was.value
          ? 'Unsubscribed: alerts will no longer be posted here.'
          : 'This conversation was not subscribed.';
      }
      const parsed = parseSubscription(args);
      if (!parsed.ok) return inert(parsed.message, 300);
      const subscribed = await subscribeConversation(commandDeps, person, {
        conversationId,
        subscription: parsed.value,
      });
      if (!subscribed.ok) return subscribed.error.message;
      return `Subscribed: ${describeSubscription(parsed.value)} will be posted here.`;
    });
  }

  async function alertsText(command: Extract<VigilCommand, { type: 'alerts' }>): Promise<string> {
    const alerts = await listAlerts(db, {
      status: command.status,
      severity: command.severity,
      source: command.source,
      limit: 10,
    });
    if (alerts.length === 0) return 'No matching alerts.';
    const lines = alerts.map(
      (alert) =>
        `- **#${alert.number}** [${alert.severity}] ${inert(alert.title, 150)} (${statusWord(alert.status)})`,
    );
    return `Alerts, newest first:\n\n${lines.join('\n')}\n\nType \`alert <number>\` for one.`;
  }

  async function replyAlert(activity: InboundActivity, ref: string): Promise<void> {
    const id = await findAlertId(db, ref);
    const alert = id === null ? null : await getAlert(db, id);
    if (alert === null)
      return replyText(activity, `No alert ${inert(ref, 40)}. Type \`alerts\` to list the open ones.`);
    return replyCard(activity, renderAlertCard({ ...alert, ...(await cardExtras(db, alert.id)) }, render));
  }

  async function replyRemediations(activity: InboundActivity, exported: boolean): Promise<void> {
    if (!exported) return replyText(activity, await activeRemediationsText(db));
    const actor = userOf(activity);
    if (actor === null) return replyText(activity, 'Vigil could not tell who you are, so it cannot export.');
    const refused = await exportRefusal(db, actor, deps.roles, clock, {
      platform: 'teams',
      conversationId: conversationRoot(activity.conversation.id),
    });
    if (refused !== null) return replyText(activity, `Not exported: ${refused.message}`);
    return replyCard(activity, renderExportCard(render.publicUrl));
  }

  async function onMessage(activity: InboundActivity): Promise<void> {
    const conversationId = await remember(activity);
    // A legacy Action.Submit arrives as a message with `value` and no text; Vigil's cards only use Action.Execute.
    if ((activity.text ?? '').trim() === '') return;
    const text = commandText(activity);
    const [word = '', ...args] = text.split(' ');
    const verb = word.toLowerCase();
    if (verb === 'subscribe' || verb === 'unsubscribe')
      return replyText(activity, await subscription(activity, conversationId, verb, args));
    const parsed = parseCommand(text);
    if (!parsed.ok)
      return replyText(
        activity,
        parsed.error.code === 'command.unknown'
          ? `I do not know "${inert(cutWord(text), 60)}". Type **help** for what I can do.`
          : inert(parsed.error.message.replaceAll('/vigil ', ''), 600),
      );
    const command = parsed.value;
    switch (command.type) {
      case 'help':
        return replyText(activity, HELP_TEXT);
      case 'alerts':
        return replyText(activity, await alertsText(command));
      case 'alert':
        return replyAlert(activity, command.ref);
      case 'investigation': {
        const id = await findInvestigationId(db, command.ref);
        const detail = id === null ? null : await getInvestigationDetail(db, id);
        if (detail === null) return replyText(activity, `No investigation ${inert(command.ref, 40)}.`);
        return replyText(activity, investigationSummary(detail));
      }
      case 'remediate': {
        const actor = userOf(activity);
        if (actor === null)
          return replyText(activity, 'Vigil could not tell who you are, so it cannot take a request.');
        const refused = await remediationRefusal(db, actor, deps.roles);
        if (refused !== null) return replyText(activity, inert(refused, 300));
        return replyCard(activity, renderRemediationForm(clock.now()));
      }
      case 'remediations':
        return replyRemediations(activity, command.export);
      case 'route.add':
      case 'route.list':
      case 'route.remove':
        return replyText(activity, ROUTES_ON_TEAMS);
      case 'resolve':
      case 'investigate':
      case 'remediation.complete':
      case 'remediation.exception':
      case 'silence.add':
      case 'silence.list':
      case 'silence.expire':
      case 'oncall':
      case 'link':
      case 'unlink':
      case 'role':
      case 'token.create':
      case 'token.list':
      case 'token.revoke':
        return replyText(
          activity,
          await asSender(activity, (person) => textCommand(activity, person, command)),
        );
      default:
        return command satisfies never;
    }
  }

  async function onConversationUpdate(activity: InboundActivity): Promise<void> {
    const botId = activity.recipient?.id;
    const removed = activity.membersRemoved?.some((member) => member.id === botId) ?? false;
    const id = conversationRoot(activity.conversation.id);
    if (removed) return deactivateTeamsConversation(db, id, 'bot removed');
    if (activity.channelData?.eventType === 'channelDeleted' && activity.channelData.channel !== undefined) {
      return deactivateTeamsConversation(db, activity.channelData.channel.id, 'channel deleted');
    }
    const known = await getTeamsConversation(db, id);
    await remember(activity);
    const added = activity.membersAdded?.some((member) => member.id === botId) ?? false;
    if (added && (known === null || !known.active)) {
      await replyText(
        activity,
        conversationKind(activity) === 'personal'
          ? 'Hello, I am Vigil. Type **help** to see what I can do.'
          : 'Vigil is here. Mention me with **subscribe severity>=high** to have alerts posted in this conversation, or **help**.',
        false,
      );
    }
  }

  /** An activity the gate turns away: 403, a log line, and an audit row when the sender is known. */
  async function refuse(activity: InboundActivity, refusal: GateRefusal): Promise<InvokeAnswer> {
    const details = { code: refusal.code, tenantId: refusal.tenantId, type: activity.type };
    logger.warn(details, 'teams activity refused');
    const actor = userOf(activity);
    if (actor !== null) {
      await appendAudit(db, [
        { alertId: null, actor, action: 'teams.activity_refused', details, at: clock.now() },
      ]);
    }
    return errorAnswer(403, 'Forbidden', refusal.message);
  }

  return async (raw) => {
    const parsed = inboundActivity.safeParse(raw);
    const type = (raw as { type?: unknown } | null)?.type;
    if (!parsed.success) {
      logger.warn(
        { type, issues: parsed.error.issues.map((i) => i.path.join('.')) },
        'teams activity not understood',
      );
      return type === 'invoke' ? errorAnswer(400, 'BadRequest', 'Activity not understood') : undefined;
    }
    const activity = parsed.data;
    const refusal = gateRefusal(deps.gate, activity);
    if (refusal !== null) return refuse(activity, refusal);
    try {
      switch (activity.type) {
        case 'invoke':
          return await onInvoke(activity);
        case 'message':
          await onMessage(activity);
          return undefined;
        case 'conversationUpdate':
          await onConversationUpdate(activity);
          return undefined;
        case 'installationUpdate': {
          const id = conversationRoot(activity.conversation.id);
          if (activity.action?.startsWith('remove'))
            await deactivateTeamsConversation(db, id, 'app uninstalled');
          else await remember(activity);
          return undefined;
        }
        default:
          return undefined;
      }
    } catch (error) {
      logger.error({ err: error, type: activity.type, name: activity.name }, 'teams activity failed');
      // Never a stack trace to chat: the person sees that it failed, the log has why.
      return activity.type === 'invoke'
        ? errorAnswer(500, 'InternalError', 'Vigil could not complete that; please try again.')
        : undefined;
    }
  };
}

/** An investigation as a chat reply: status, alerts, findings, and what waits for approval. */
function investigationSummary(
  detail: NonNullable<Awaited<ReturnType<typeof getInvestigationDetail>>>,
): string {
  const lines = [`**Investigation #${detail.number}**: ${INVESTIGATION_STATUS_LABELS[detail.status]}`, ''];
  const alerts = detail.alerts.slice(0, 5).map((alert) => `#${alert.number} ${inert(alert.title, 100)}`);
  const more = detail.alerts.length - alerts.length;
  lines.push(`- Alerts: ${alerts.join('; ')}${more > 0 ? ` and ${more} more` : ''}`);
  lines.push(`- Entities: ${detail.entities.length}, findings: ${detail.findings.length}`);
  if (detail.pendingActions.length > 0) {
    lines.push('', 'Waiting for approval:');
    for (const action of detail.pendingActions.slice(0, 5)) {
      const approvals = action.decisions.filter((d) => d.decision === 'approve').length;
      lines.push(
        `- ${actionName(action)} (approvals ${approvals}/${action.approvalsNeeded}): ${inert(action.reason, 200)}`,
      );
    }
    const rest = detail.pendingActions.length - 5;
    if (rest > 0) lines.push(`- and ${rest} more`);
    const trigger = detail.alerts.find((alert) => alert.id === detail.triggerAlertId) ?? detail.alerts[0];
    if (trigger !== undefined)
      lines.push('', `Approve or reject on the alert card: \`alert ${trigger.number}\`.`);
  }
  // Why an action failed belongs where people look, not only in the server's log.
  const failed = detail.actions.filter((action) => action.status === 'failed');
  if (failed.length > 0) {
    lines.push('', 'Failed:');
    for (const action of failed.slice(0, 5)) {
      lines.push(`- ${actionName(action)}: ${inert(action.error ?? 'no reason given', 300)}`);
    }
  }
  return lines.join('\n');
}

const cutWord = (text: string): string => text.split(' ').slice(0, 4).join(' ');
