/**
 * A small Bot Connector REST client (v3 conversations API) for proactive sends and updates.
 * botbuilder's ConnectorClient sits on @azure/core-rest-pipeline, whose default retry policy
 * retries 429/5xx itself, sleeping for Retry-After inside the call: that would hold the notify
 * worker (and the card's row lock) for as long as Teams asks, and hide the status we need to mark
 * a conversation gone. Here every answer comes back to the caller, which decides: BullMQ delays
 * the job on a rate limit, and 403/404 retire the conversation.
 */

/** An activity Vigil sends: a message with text or an Adaptive Card attachment. */
export interface OutboundActivity {
  readonly type: 'message';
  readonly text?: string;
  readonly textFormat?: 'markdown' | 'plain';
  readonly summary?: string;
  readonly attachments?: readonly { readonly contentType: string; readonly content: unknown }[];
  readonly replyToId?: string;
}

/** The connector answered with an error status. */
export class ConnectorError extends Error {
  readonly code = 'teams.connector_error';
  constructor(
    readonly status: number,
    /** From the Retry-After header (seconds or an HTTP date), when present. */
    readonly retryAfterMs: number | null,
    readonly platformCode: string | null,
  ) {
    super(`Bot Connector answered ${status}${platformCode === null ? '' : ` (${platformCode})`}`);
  }
}

export interface ConnectorOptions {
  /** Bearer token for the connector; null when authentication is off (VIGIL_TEAMS_DEV). */
  readonly token: () => Promise<string | null>;
  /** Per-request timeout. @defaultValue 15000 */
  readonly timeoutMs?: number;
}

export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

const activitiesUrl = (serviceUrl: string, conversationId: string): string =>
  `${serviceUrl.replace(/\/+$/, '')}/v3/conversations/${encodeURIComponent(conversationId)}/activities`;

export class ConnectorClient {
  readonly #options: ConnectorOptions;

  constructor(options: ConnectorOptions) {
    this.#options = options;
  }

  /** POST v3/conversations/{id}/activities (or …/activities/{replyToId} for a threaded reply); returns the new activity ID. */
  async send(serviceUrl: string, conversationId: string, activity: OutboundActivity): Promise<string> {
    const base = activitiesUrl(serviceUrl, conversationId);
    const url = activity.replyToId === undefined ? base : `${base}/${encodeURIComponent(activity.replyToId)}`;
    const answer = (await this.#call('POST', url, activity)) as { id?: unknown } | null;
    // Teams answers {id}; an answer without one leaves the card without a reference to update later.
    return typeof answer?.id === 'string' ? answer.id : '';
  }

  /** PUT v3/conversations/{id}/activities/{activityId}: replaces the message in place. */
  async update(
    serviceUrl: string,
    conversationId: string,
    activityId: string,
    activity: OutboundActivity,
  ): Promise<void> {
    const url = `${activitiesUrl(serviceUrl, conversationId)}/${encodeURIComponent(activityId)}`;
    await this.#call('PUT', url, { ...activity, id: activityId });
  }

  /**
   * GET v3/conversations/{id}/members/{userId} (botbuilder's TeamsInfo.getMember): one member as a
   * TeamsChannelAccount, with `email`, `userPrincipalName`, `tenantId` and `userRole`. In a team,
   * `conversationId` is the team's ID, as TeamsInfo asks.
   */
  async getMember(serviceUrl: string, conversationId: string, userId: string): Promise<unknown> {
    const url = `${serviceUrl.replace(/\/+$/, '')}/v3/conversations/${encodeURIComponent(conversationId)}/members/${encodeURIComponent(userId)}`;
    return this.#call('GET', url, undefined);
  }

  async #call(method: string, url: string, body: unknown): Promise<unknown> {
    const token = await this.#options.token();
    const response = await fetch(url, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? 15_000),
    });
    const text = await response.text();
    if (!response.ok) {
      let platformCode: string | null = null;
      try {
        const parsed = JSON.parse(text) as { error?: { code?: unknown } };
        if (typeof parsed.error?.code === 'string') platformCode = parsed.error.code;
      } catch {
        // Error bodies are not always JSON (gateways answer HTML); the status says enough.
      }
      throw new ConnectorError(
        response.status,
        parseRetryAfter(response.headers.get('retry-after')),
        platformCode,
      );
    }
    if (text === '') return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return null;
    }
  }
}
