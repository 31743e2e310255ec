import { type CardAlert, SEVERITIES, type Severity, severityRank } from '../../domain/index.js';
import type { TeamsSubscription } from '../../storage/teams-conversation.repository.js';

/** Does an alert belong in a conversation with this subscription? */
export function subscriptionMatches(
  subscription: TeamsSubscription,
  alert: Pick<CardAlert, 'severity' | 'source'>,
): boolean {
  if (
    subscription.minSeverity !== null &&
    severityRank(alert.severity) < severityRank(subscription.minSeverity)
  ) {
    return false;
  }
  if (subscription.sources !== null && !subscription.sources.includes(alert.source)) return false;
  return true;
}

export type ParsedSubscription = { ok: true; value: TeamsSubscription } | { ok: false; message: string };

/**
 * Parses `subscribe [severity>=high] [source=alertmanager,graph]`'s arguments. `severity=high`
 * means the same as `severity>=high` (a threshold is what people mean in a channel route);
 * `severity>medium` is strict.
 */
export function parseSubscription(args: readonly string[]): ParsedSubscription {
  let minSeverity: Severity | null = null;
  let sources: string[] | null = null;
  for (const arg of args) {
    const severity = /^severity(>=|=|>)([a-z]+)$/i.exec(arg);
    if (severity !== null) {
      const name = (severity[2] ?? '').toLowerCase();
      const index = (SEVERITIES as readonly string[]).indexOf(name);
      if (index < 0)
        return { ok: false, message: `Unknown severity "${name}". Use one of ${SEVERITIES.join(', ')}.` };
      const strict = severity[1] === '>';
      const wanted = SEVERITIES[strict ? index + 1 : index];
      if (wanted === undefined) return { ok: false, message: 'Nothing is more severe than critical.' };
      minSeverity = wanted;
      continue;
    }
    const source = /^source=(.+)$/i.exec(arg);
    if (source !== null) {
      sources = (source[1] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (sources.length === 0) return { ok: false, message: 'Name at least one source after source=.' };
      continue;
    }
    return {
      ok: false,
      message: `I did not understand "${arg}". Try: subscribe severity>=high source=alertmanager`,
    };
  }
  return { ok: true, value: { minSeverity, sources } };
}

export function describeSubscription(subscription: TeamsSubscription): string {
  const severity =
    subscription.minSeverity === null ? 'every severity' : `severity ${subscription.minSeverity} and above`;
  const sources =
    subscription.sources === null ? 'any source' : `source ${subscription.sources.join(' or ')}`;
  return `alerts of ${severity} from ${sources}`;
}
