/**
 * The seam between Vigil's Teams handlers and the Bot Framework SDK. botbuilder is archived
 * (no support after 2025-12-31); its successors (Teams SDK, Microsoft 365 Agents SDK) can
 * replace `botbuilder.ts` behind this interface without touching the handlers, the renderer or
 * the channel.
 */

/** An HTTP request to `/api/messages`, as the web framework parsed it. */
export interface BotRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
}

/** What the bot answers to the HTTP request: an invoke response, or a bare status. */
export interface BotResponse {
  readonly status: number;
  readonly body?: unknown;
}

/** The answer a turn gives to an `invoke` activity (`adaptiveCard/action`). */
export interface InvokeAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * Runs Vigil's logic for one authenticated activity; returns the invoke answer for invokes. For
 * any other activity an answer is a refusal: its status (403) replaces the plain 200.
 */
export type TurnLogic = (activity: unknown) => Promise<InvokeAnswer | undefined>;

export interface BotFrameworkPort {
  /** True when inbound activities must carry a valid Bot Framework JWT (an app ID is configured). */
  readonly authenticates: boolean;
  /**
   * Authenticates the request (issuer, audience = app ID, serviceUrl claim) and runs `logic`.
   * An unauthenticated request answers 401 and never reaches `logic`.
   */
  process(request: BotRequest, logic: TurnLogic): Promise<BotResponse>;
  /**
   * The bearer token for calls to the Bot Connector (`serviceUrl/v3/...`), cached and renewed by
   * the SDK; null when authentication is off (VIGIL_TEAMS_DEV without an app ID).
   */
  connectorToken(): Promise<string | null>;
}
