import {
  ALERT_STATUSES,
  type AlertStatus,
  type Classification,
  EXCEPTION_REASONS,
  fail,
  ok,
  type Result,
  ROLES,
  type Role,
  SEVERITIES,
  type Severity,
} from '../domain/index.js';
import { ONCALL_USAGE, type OnCallCommand, parseSilenceCommand, SILENCE_USAGE } from './oncall-commands.js';
import { parseRemediationCommand, type RemediationCommand } from './remediation-commands.js';

/** What `/vigil <text>` asks for, parsed before anything touches the database. */
export type VigilCommand =
  | { readonly type: 'help' }
  | {
      readonly type: 'alerts';
      readonly status: readonly AlertStatus[];
      readonly severity: readonly Severity[];
      readonly source: readonly string[];
    }
  | { readonly type: 'alert'; readonly ref: string }
  | {
      readonly type: 'resolve';
      readonly ref: string;
      readonly classification: Classification;
      readonly comment?: string;
    }
  | { readonly type: 'route.add'; readonly route: RouteSpec }
  | { readonly type: 'route.list' }
  | { readonly type: 'route.remove'; readonly id: string }
  | { readonly type: 'role'; readonly who: LinkTarget; readonly role: Role }
  | { readonly type: 'token.create'; readonly name: string }
  | { readonly type: 'token.list' }
  | { readonly type: 'token.revoke'; readonly id: string }
  | { readonly type: 'link' | 'unlink'; readonly who: LinkTarget; readonly key: string }
  | { readonly type: 'investigate'; readonly ref: string }
  | { readonly type: 'investigation'; readonly ref: string }
  | { readonly type: 'remediate' }
  | { readonly type: 'remediations'; readonly export: boolean }
  | RemediationCommand
  | OnCallCommand;

/** Whose identities `link` and `unlink` change, or whose role `role` sets: a mentioned Slack user, or whoever an identity key names (Teams). */
export type LinkTarget =
  | { readonly kind: 'user'; readonly userId: string }
  | { readonly kind: 'identity'; readonly key: string };

/** A route as typed: channel ID and matchers. */
export interface RouteSpec {
  readonly channel: string;
  readonly sources: readonly string[];
  readonly minSeverity: Severity | null;
  readonly labels: Readonly<Record<string, string>>;
}

export const USAGE = {
  alerts: '`/vigil alerts [status=new,in_progress] [severity=high,critical | severity>=high] [source=graph]`',
  alert: '`/vigil alert <id or number>`',
  resolve: '`/vigil resolve <id or number> <true_positive|false_positive|expected> [comment]`',
  route:
    '`/vigil route add #channel [source=graph,alertmanager] [severity>=high] [label:team=identity]`, `/vigil route list`, `/vigil route remove <id>`',
  role: `\`/vigil role <@user or identity> <${ROLES.join('|')}>\``,
  token: '`/vigil token [name]`, `/vigil token list`, `/vigil token revoke <id>`',
  link: '`/vigil link <@user or identity> teams:<tenant>:<object ID>`, `/vigil unlink <@user or identity> <identity>`',
  investigate: '`/vigil investigate <alert id or number>`',
  investigation: '`/vigil investigation <id or number>`',
  remediate: '`/vigil remediate`',
  remediations: '`/vigil remediations [export]`',
  remediation:
    '`/vigil remediation complete <R-7> [how]` or `/vigil remediation exception <R-7> <reason> <YYYY-MM-DD> <justification>`',
} as const;

export const HELP_TEXT = [
  '*Vigil* — security alerts in Slack',
  `• ${USAGE.alerts} lists alerts (open ones by default)`,
  `• ${USAGE.alert} shows one alert's card, only to you`,
  `• ${USAGE.resolve} resolves an alert`,
  `• ${USAGE.investigate} (responders) starts an investigation of an alert`,
  `• ${USAGE.investigation} shows an investigation, only to you`,
  `• ${USAGE.remediate} (responders) asks IT to fix devices, with a due date`,
  `• ${USAGE.remediations} lists the active remediations, or (approvers) posts them all here as a CSV`,
  `• ${USAGE.remediation} marks one completed or files an exception until that day (completing: responders; an exception: approvers; reasons: ${EXCEPTION_REASONS.join(', ')})`,
  `• ${USAGE.route} (admins) choose which channels get which alerts`,
  `• ${USAGE.role} (admins) grants a role: viewers see, responders act, approvers approve, admins manage`,
  `• ${USAGE.token} a personal API token for you (shown once, expires in 90 days), your tokens, revoke one`,
  `• ${USAGE.link} (admins) one person, several accounts: link a Teams or OIDC identity to a Slack user`,
  `• ${SILENCE_USAGE} (responders) mute matching alerts for a while`,
  `• ${ONCALL_USAGE} shows who is on call now and next`,
].join('\n');

const CLASSIFICATION_WORDS: Readonly<Record<string, Classification>> = {
  true_positive: 'true_positive',
  tp: 'true_positive',
  'true-positive': 'true_positive',
  false_positive: 'false_positive',
  fp: 'false_positive',
  'false-positive': 'false_positive',
  informational_expected_activity: 'informational_expected_activity',
  expected: 'informational_expected_activity',
  informational: 'informational_expected_activity',
  benign: 'informational_expected_activity',
};

const usage = (what: keyof typeof USAGE, problem: string) =>
  fail('command.invalid', `${problem} Usage: ${USAGE[what]}`);

/**
 * A channel as Slack sends it when the command escapes channels (`<#C0123|general>`), or a bare
 * ID. A plain `#general` cannot be turned into an ID without another API call, so it is refused
 * with a hint.
 */
export function parseChannel(token: string): string | null {
  const escaped = /^<#([CG][A-Z0-9]{2,20})(?:\|[^>]*)?>$/.exec(token);
  if (escaped?.[1] !== undefined) return escaped[1];
  return /^[CG][A-Z0-9]{2,20}$/.test(token) ? token : null;
}

/** A user as Slack escapes a mention (`<@U0123|name>`, `<@U0123>`), or a bare ID. */
export function parseUser(token: string): string | null {
  const escaped = /^<@([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>$/.exec(token);
  if (escaped?.[1] !== undefined) return escaped[1];
  return /^[UW][A-Z0-9]{2,20}$/.test(token) ? token : null;
}

const IDENTITY_KEY = /^(slack|teams|oidc):\S+$/;

/** A person as typed: a Slack mention, or one of their identity keys (all Teams can name). */
function parseTarget(token: string): LinkTarget | null {
  const userId = parseUser(token);
  if (userId !== null) return { kind: 'user', userId };
  return IDENTITY_KEY.test(token) ? { kind: 'identity', key: token } : null;
}

const split = (text: string): string[] => text.trim().split(/\s+/).filter(Boolean);
const list = (value: string): string[] =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

function parseAlerts(args: readonly string[]): Result<VigilCommand> {
  const status: AlertStatus[] = [];
  const severity: Severity[] = [];
  const source: string[] = [];
  for (const arg of args) {
    const atLeast = /^severity>=(\w+)$/i.exec(arg);
    if (atLeast?.[1] !== undefined) {
      const from = SEVERITIES.indexOf(atLeast[1].toLowerCase() as Severity);
      if (from < 0) return usage('alerts', `"${atLeast[1]}" is not a severity (${SEVERITIES.join(', ')}).`);
      severity.push(...SEVERITIES.slice(from));
      continue;
    }
    const pair = /^(status|severity|source)=(.+)$/i.exec(arg);
    if (pair?.[1] === undefined || pair[2] === undefined)
      return usage('alerts', `I do not understand "${arg}".`);
    const key = pair[1].toLowerCase();
    for (const value of list(pair[2].toLowerCase())) {
      if (key === 'status') {
        if (!(ALERT_STATUSES as readonly string[]).includes(value)) {
          return usage('alerts', `"${value}" is not a status (${ALERT_STATUSES.join(', ')}).`);
        }
        status.push(value as AlertStatus);
      } else if (key === 'severity') {
        if (!(SEVERITIES as readonly string[]).includes(value)) {
          return usage('alerts', `"${value}" is not a severity (${SEVERITIES.join(', ')}).`);
        }
        severity.push(value as Severity);
      } else {
        source.push(value);
      }
    }
  }
  return ok({
    type: 'alerts',
    status: status.length > 0 ? status : ['new', 'in_progress'],
    severity,
    source,
  });
}

function parseRouteAdd(args: readonly string[]): Result<VigilCommand> {
  const [first, ...rest] = args;
  const channel = first === undefined ? null : parseChannel(first);
  if (channel === null) {
    return usage(
      'route',
      'Name the channel by picking it with # in the message box (Slack then sends its ID).',
    );
  }
  const sources: string[] = [];
  let minSeverity: Severity | null = null;
  const labels: Record<string, string> = {};
  for (const arg of rest) {
    const source = /^source=(.+)$/i.exec(arg);
    const severity = /^severity>=(\w+)$/i.exec(arg);
    const label = /^label:([^=\s]{1,100})=(.{1,200})$/i.exec(arg);
    if (source?.[1] !== undefined) sources.push(...list(source[1].toLowerCase()));
    else if (severity?.[1] !== undefined) {
      const value = severity[1].toLowerCase();
      if (!(SEVERITIES as readonly string[]).includes(value)) {
        return usage('route', `"${severity[1]}" is not a severity (${SEVERITIES.join(', ')}).`);
      }
      minSeverity = value as Severity;
    } else if (label?.[1] !== undefined && label[2] !== undefined) labels[label[1]] = label[2];
    else return usage('route', `I do not understand "${arg}".`);
  }
  return ok({ type: 'route.add', route: { channel, sources, minSeverity, labels } });
}

/** Parses the text after `/vigil`. Every refusal says what was wrong and how to write it. */
export function parseCommand(text: string): Result<VigilCommand> {
  const [verb, ...args] = split(text);
  switch (verb?.toLowerCase()) {
    case undefined:
    case 'help':
      return ok({ type: 'help' });
    case 'alerts':
      return parseAlerts(args);
    case 'alert':
      if (args.length !== 1 || args[0] === undefined) return usage('alert', 'Give one alert.');
      return ok({ type: 'alert', ref: args[0] });
    case 'resolve': {
      const [ref, word] = args;
      if (ref === undefined || word === undefined)
        return usage('resolve', 'Give the alert and a classification.');
      const classification = CLASSIFICATION_WORDS[word.toLowerCase()];
      if (classification === undefined) return usage('resolve', `"${word}" is not a classification.`);
      // The comment is the rest of the text as typed, spacing kept.
      const comment = text.trim().replace(/^\S+\s+\S+\s+\S+\s*/, '');
      return ok({ type: 'resolve', ref, classification, ...(comment === '' ? {} : { comment }) });
    }
    case 'route': {
      const [sub, ...rest] = args;
      if (sub === 'add') return parseRouteAdd(rest);
      if (sub === 'list' && rest.length === 0) return ok({ type: 'route.list' });
      if (sub === 'remove' && rest.length === 1 && rest[0] !== undefined && /^\d{1,18}$/.test(rest[0])) {
        return ok({ type: 'route.remove', id: rest[0] });
      }
      return usage('route', 'Say add, list or remove <id>.');
    }
    case 'role': {
      const [first, role] = args;
      const who = first === undefined ? null : parseTarget(first);
      if (who === null || role === undefined || args.length !== 2)
        return usage('role', 'Name one person (a mention, or one of their identities) and a role.');
      if (!(ROLES as readonly string[]).includes(role.toLowerCase())) {
        return usage('role', `"${role}" is not a role.`);
      }
      return ok({ type: 'role', who, role: role.toLowerCase() as Role });
    }
    case 'token': {
      const [sub, ...rest] = args;
      if (sub?.toLowerCase() === 'list' && rest.length === 0) return ok({ type: 'token.list' });
      if (sub?.toLowerCase() === 'revoke') {
        const [id] = rest;
        if (id === undefined || rest.length !== 1 || !/^[0-9a-f-]{36}$/i.test(id))
          return usage('token', 'Give the ID of the token to revoke.');
        return ok({ type: 'token.revoke', id: id.toLowerCase() });
      }
      const name = args.join(' ').trim().slice(0, 100);
      return ok({ type: 'token.create', name: name === '' ? 'Slack' : name });
    }
    case 'link':
    case 'unlink': {
      const [first, key] = args;
      const who = first === undefined ? null : parseTarget(first);
      if (who === null || key === undefined || args.length !== 2 || !IDENTITY_KEY.test(key))
        return usage(
          'link',
          'Name one person (a mention, or one of their identities) and one identity (teams:..., oidc:... or slack:...).',
        );
      return ok({ type: verb?.toLowerCase() === 'link' ? 'link' : 'unlink', who, key });
    }
    case 'investigate':
      if (args.length !== 1 || args[0] === undefined) return usage('investigate', 'Give one alert.');
      return ok({ type: 'investigate', ref: args[0] });
    case 'investigation':
      if (args.length !== 1 || args[0] === undefined || !/^(\d{1,18}|[0-9a-f-]{36})$/i.test(args[0]))
        return usage('investigation', 'Give one investigation.');
      return ok({ type: 'investigation', ref: args[0].toLowerCase() });
    case 'remediate':
      return args.length === 0 ? ok({ type: 'remediate' }) : usage('remediate', 'It takes nothing more.');
    case 'remediations':
      if (args.length === 0) return ok({ type: 'remediations', export: false });
      if (args.length === 1 && args[0]?.toLowerCase() === 'export')
        return ok({ type: 'remediations', export: true });
      return usage('remediations', `I do not understand "${args.join(' ')}".`);
    case 'remediation':
      return parseRemediationCommand(text.trim().slice(verb.length));
    case 'silence':
      return parseSilenceCommand(args);
    case 'oncall':
      return args.length === 0 ? ok({ type: 'oncall' }) : fail('command.invalid', `Usage: ${ONCALL_USAGE}`);
    default:
      return fail('command.unknown', `I do not know "${verb}". Try \`/vigil help\`.`);
  }
}
