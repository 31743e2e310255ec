import { isLoopbackHost } from '../../config.js';
import type { InboundActivity } from './activity.js';

/** Which activities Vigil serves at all, before any handler reads or answers them. */
export interface TeamsGate {
  /** Tenant IDs (lower case) whose activities are served, or `*` for every tenant (VIGIL_TEAMS_TENANTS). */
  readonly tenants: readonly string[] | '*';
  /**
   * Only loopback `serviceUrl`s: set when activities are not authenticated (VIGIL_TEAMS_DEV), so a
   * request cannot make Vigil send its replies, and later cards, to an address of its choosing.
   * With authentication, Bot Framework's token vouches for the serviceUrl.
   */
  readonly loopbackServiceUrlOnly: boolean;
}

export interface GateRefusal {
  readonly code: 'teams.tenant_not_allowed' | 'teams.service_url_not_allowed';
  readonly message: string;
  readonly tenantId: string | null;
}

/** The tenant an activity comes from: the conversation's, else the channel data's. */
export const tenantOf = (activity: InboundActivity): string | null =>
  activity.conversation.tenantId ?? activity.channelData?.tenant?.id ?? null;

/** Null when the activity may be served; otherwise why not. */
export function gateRefusal(gate: TeamsGate, activity: InboundActivity): GateRefusal | null {
  const tenantId = tenantOf(activity);
  // Both places are checked when both are given: a mismatch must not slip through on the other one.
  const named = [activity.conversation.tenantId, activity.channelData?.tenant?.id].filter(
    (id): id is string => id !== undefined,
  );
  if (
    gate.tenants !== '*' &&
    (named.length === 0 ||
      !named.every((id) => (gate.tenants as readonly string[]).includes(id.toLowerCase())))
  ) {
    return {
      code: 'teams.tenant_not_allowed',
      message: 'This Vigil does not serve your tenant (VIGIL_TEAMS_TENANTS).',
      tenantId,
    };
  }
  if (gate.loopbackServiceUrlOnly && !isLoopbackUrl(activity.serviceUrl)) {
    return {
      code: 'teams.service_url_not_allowed',
      message:
        'Without Bot Framework authentication (VIGIL_TEAMS_DEV) Vigil only answers a loopback serviceUrl.',
      tenantId,
    };
  }
  return null;
}

function isLoopbackUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackHost(url.hostname);
  } catch {
    return false;
  }
}
