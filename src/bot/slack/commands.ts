import type { App, SlashCommand } from '@slack/bolt';
import { changeAlertStatus } from '../../app/commands/change-alert-status.js';
import {
  grantRole,
  type IdentityRefusal,
  linkIdentity,
  personOfIdentity,
  unlinkIdentity,
} from '../../app/commands/people.js';
import { addRoute, removeRoute } from '../../app/commands/routes.js';
import { type ActingPerson, authorize, ok, type Result, severityRank } from '../../domain/index.js';
import { findAlertId, getAlert, listAlerts } from '../../storage/alert.repository.js';
import { listRoutes } from '../../storage/slack-route.repository.js';
import { HELP_TEXT, type LinkTarget, parseCommand, type VigilCommand } from '../command-parser.js';
import { type ChatFormat, runOnCallCommand } from '../oncall-commands.js';
import { roleGrantedText, runTokenCommand } from '../people-commands.js';
import { runRemediationCommand } from '../remediation-commands.js';
import { exportRefusal } from '../remediation-export.js';
import { findInvestigation, investigateAs, renderInvestigationDetail } from './approvals.js';
import { type SlackContext, type SlackUser, slackPerson, slackUser } from './context.js';
import { refusalText } from './interactions.js';
import { escapeMrkdwn } from './mrkdwn.js';
import {
  activeRemediationBlocks,
  exportRemediations,
  openRemediateModal,
  remediationRefusal,
} from './remediation.js';
import { type Block, renderAlertCard, renderAlertList } from './render.js';

/** On-call and silence answers in Slack: people mentioned, dates in the reader's time zone. */
const SLACK_FORMAT: ChatFormat = {
  person: (person) => (person.slack === undefined ? escapeMrkdwn(person.name) : `<@${person.slack}>`),
  when: (date) =>
    `<!date^${Math.floor(date.getTime() / 1000)}^{date_short_pretty} {time}|${date.toISOString()}>`,
  text: escapeMrkdwn,
  refused: (message) => `:warning: ${message}`,
  forbidden: (message) => `:no_entry: ${message}`,
  command: (words) => `\`/vigil ${words}\``,
};

/** What the command answers, only to the person who typed it. */
export interface CommandReply {
  readonly response_type: 'ephemeral';
  readonly text: string;
  readonly blocks?: readonly Block[];
}

const reply = (text: string, blocks?: readonly Block[]): CommandReply => ({
  response_type: 'ephemeral',
  text,
  ...(blocks === undefined ? {} : { blocks }),
});

/**
 * Runs one `/vigil` command. Each one is a few short queries, so the answer goes back in the
 * acknowledgement itself (no response_url call, nothing to retry).
 */
export async function runCommand(
  context: SlackContext,
  actor: SlackUser,
  command: VigilCommand,
): Promise<CommandReply> {
  const { handle, clock } = context;
  const identified = await slackPerson(context, actor);
  if (!identified.ok) return reply(refusalText(identified.error));
  const person = identified.value;
  const role = person.role;
  const deps = { handle, clock };
  // Listing routes reads configuration only admins manage: not a change, so no command.
  const adminOnly = () => {
    const allowed = authorize(role, 'admin.manage');
    return allowed.ok ? null : reply(refusalText(allowed.error));
  };
  /** The person behind a mentioned Slack user of the same workspace. */
  const mentioned = (userId: string): Promise<Result<ActingPerson>> =>
    slackPerson(context, slackUser({ id: userId, team_id: actor.tenant }));
  /** The person a mention or an identity names; an identity is looked up for admins only. */
  const targetOf = async (who: LinkTarget, refusedAction: IdentityRefusal): Promise<Result<string>> => {
    if (who.kind === 'identity') return personOfIdentity(deps, person, { identity: who.key, refusedAction });
    const found = await mentioned(who.userId);
    return found.ok ? ok(found.value.personId) : found;
  };
  const nameOf = (who: LinkTarget): string =>
    who.kind === 'user' ? `<@${who.userId}>` : `\`${escapeMrkdwn(who.key)}\``;
  switch (command.type) {
    case 'help':
      return reply(HELP_TEXT);
    case 'alerts': {
      const alerts = await listAlerts(handle.db, {
        status: command.status,
        severity: command.severity,
        source: command.source,
        limit: 50,
      });
      alerts.sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
      const shown = alerts.slice(0, 30);
      return reply(
        `${alerts.length} alert(s)`,
        renderAlertList(`Alerts (${shown.length} shown)`, shown, context.render),
      );
    }
    case 'alert': {
      const id = await findAlertId(handle.db, command.ref);
      const alert = id === null ? null : await getAlert(handle.db, id);
      if (alert === null) return reply(`:warning: No alert ${escapeMrkdwn(command.ref)}.`);
      const card = renderAlertCard(alert, context.render);
      return reply(card.text, card.blocks);
    }
    case 'resolve': {
      const id = await findAlertId(handle.db, command.ref);
      if (id === null) return reply(`:warning: No alert ${escapeMrkdwn(command.ref)}.`);
      const result = await changeAlertStatus(deps, person, {
        alertId: id,
        request: {
          action: 'resolve',
          classification: command.classification,
          ...(command.comment === undefined ? {} : { comment: command.comment }),
        },
      });
      if (!result.ok) return reply(refusalText(result.error));
      const number = result.value.alert.number;
      return reply(
        result.value.changed ? `:white_check_mark: Resolved #${number}.` : `#${number} was already resolved.`,
      );
    }
    case 'route.add': {
      const route = await addRoute(deps, person, command.route);
      if (!route.ok) return reply(refusalText(route.error));
      return reply(`:white_check_mark: Route ${route.value.id} added: ${describeRoute(route.value)}`);
    }
    case 'route.list': {
      const refused = adminOnly();
      if (refused !== null) return refused;
      const routes = await listRoutes(handle.db);
      if (routes.length === 0)
        return reply('No routes: every alert goes to the default channel (SLACK_ALERT_CHANNEL).');
      return reply(routes.map((route) => `• ${route.id}: ${describeRoute(route)}`).join('\n'));
    }
    case 'route.remove': {
      const removed = await removeRoute(deps, person, { routeId: command.id });
      return reply(removed.ok ? `Route ${command.id} removed.` : refusalText(removed.error));
    }
    case 'role': {
      const target = await targetOf(command.who, 'role.grant_refused');
      if (!target.ok) return reply(refusalText(target.error));
      const granted = await grantRole(deps, person, { personId: target.value, role: command.role });
      if (!granted.ok) return reply(refusalText(granted.error));
      return reply(roleGrantedText(nameOf(command.who), command.role));
    }
    case 'link':
    case 'unlink': {
      const target = await targetOf(
        command.who,
        command.type === 'link' ? 'person.link_refused' : 'person.unlink_refused',
      );
      if (!target.ok) return reply(refusalText(target.error));
      const what = { personId: target.value, key: command.key };
      const done =
        command.type === 'link'
          ? await linkIdentity(deps, person, what)
          : await unlinkIdentity(deps, person, what);
      if (!done.ok) return reply(refusalText(done.error));
      const name = nameOf(command.who);
      return reply(
        command.type === 'link'
          ? `:link: \`${escapeMrkdwn(command.key)}\` is now ${name}: one person, one set of roles.`
          : `\`${escapeMrkdwn(command.key)}\` is unlinked from ${name} and can no longer act.`,
      );
    }
    case 'token.create':
    case 'token.list':
    case 'token.revoke':
      return reply(await runTokenCommand(deps, person, command, SLACK_FORMAT));
    case 'investigate': {
      const id = await findAlertId(handle.db, command.ref);
      if (id === null) return reply(`:warning: No alert ${escapeMrkdwn(command.ref)}.`);
      return reply((await investigateAs(context, actor, id)).text);
    }
    case 'investigation': {
      const detail = await findInvestigation(context, command.ref);
      if (detail === null) return reply(`:warning: No investigation ${escapeMrkdwn(command.ref)}.`);
      return reply(
        `Investigation #${detail.number}`,
        renderInvestigationDetail(detail, context.render.publicUrl),
      );
    }
    case 'remediate':
      // Opened by the listener, which has the trigger_id; here only the refusal is answered.
      return reply((await remediationRefusal(context, actor)) ?? 'Use `/vigil remediate` to open the form.');
    case 'remediations': {
      if (command.export)
        return reply(':hourglass_flowing_sand: Exporting the remediations to this channel…');
      const list = await activeRemediationBlocks(context);
      return reply(list.text, list.blocks);
    }
    case 'remediation.complete':
    case 'remediation.exception': {
      const done = await runRemediationCommand(deps, person, command);
      return reply(done.ok ? `:white_check_mark: ${escapeMrkdwn(done.value)}` : refusalText(done.error));
    }
    case 'silence.add':
    case 'silence.list':
    case 'silence.expire':
    case 'oncall':
      return reply(await runOnCallCommand(deps, person, command, SLACK_FORMAT));
    default:
      return command satisfies never;
  }
}

export function describeRoute(route: {
  channel: string;
  sources: readonly string[];
  minSeverity: string | null;
  labels: Readonly<Record<string, string>>;
}): string {
  const matchers = [
    route.sources.length > 0 ? `source ${route.sources.map(escapeMrkdwn).join(', ')}` : null,
    route.minSeverity === null ? null : `severity ≥ ${route.minSeverity}`,
    ...Object.entries(route.labels).map(
      ([key, value]) => `label ${escapeMrkdwn(key)}=${escapeMrkdwn(value)}`,
    ),
  ].filter((item): item is string => item !== null);
  return `<#${route.channel}> ← ${matchers.length > 0 ? matchers.join(', ') : 'every alert'}`;
}

export function registerCommands(app: App, context: SlackContext): void {
  app.command(
    '/vigil',
    async ({ command, ack }: { command: SlashCommand; ack: (response?: CommandReply) => Promise<void> }) => {
      const actor = slackUser({ id: command.user_id, name: command.user_name, team_id: command.team_id });
      const parsed = parseCommand(command.text);
      if (!parsed.ok) {
        await ack(reply(`:warning: ${parsed.error.message}`));
        return;
      }
      if (parsed.value.type === 'remediate' && (await remediationRefusal(context, actor)) === null) {
        // An empty acknowledgement, then the form while the trigger_id is still valid (3 s).
        await ack();
        await openRemediateModal(context, command.trigger_id, command.channel_id ?? null);
        return;
      }
      if (parsed.value.type === 'remediations' && parsed.value.export) {
        const refused = await exportRefusal(context.handle.db, actor, context.roles, context.clock, {
          platform: 'slack',
          channel: command.channel_id,
        });
        if (refused !== null) {
          await ack(reply(refusalText(refused)));
          return;
        }
      }
      await ack(await runCommand(context, actor, parsed.value));
      if (parsed.value.type === 'remediations' && parsed.value.export) {
        const problem = await exportRemediations(context, command.channel_id);
        if (problem !== null)
          await context.client.chat
            .postEphemeral({ channel: command.channel_id, user: actor.id, text: problem })
            .catch(() => undefined);
      }
    },
  );
}
