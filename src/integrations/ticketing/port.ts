import type { RemediationPriority, TicketConnector } from '../../domain/index.js';

/** What a ticket says: enough for the IT owner to act without opening Vigil. */
export interface TicketRequest {
  readonly remediationId: string;
  /** Vigil's short number (`R-7`), shown in the summary. */
  readonly number: string;
  readonly title: string;
  readonly recommendation: string;
  readonly actionRef: string | null;
  readonly devices: readonly string[];
  readonly devicesLeft: number;
  readonly dueAt: Date;
  readonly priority: RemediationPriority;
  readonly notes: string;
  readonly requester: string;
  readonly alertId: string | null;
  /** Where the remediation lives in Vigil. */
  readonly vigilUrl: string;
}

export interface TicketRef {
  readonly externalId: string;
  readonly url: string;
  /** True when an earlier attempt had opened the ticket already and it was found by its key. */
  readonly reused?: boolean;
}

/** A ticket's status as Vigil needs it; each connector maps its own states onto these. */
export type TicketStatus = 'open' | 'in_progress' | 'done';

/**
 * A ticketing system. `createTicket` must be idempotent on `idempotencyKey`: a retried job (whose
 * first attempt opened the ticket but lost the answer) finds and returns the ticket already opened
 * rather than opening a second, by whatever the system allows (a Jira label, a ServiceNow
 * correlation_id, an Idempotency-Key header the receiver honours).
 */
export interface TicketGateway {
  readonly connector: TicketConnector;
  /** True when status is worth polling (Jira, ServiceNow); others report through the inbound webhook. */
  readonly polls: boolean;
  createTicket(request: TicketRequest, idempotencyKey: string): Promise<TicketRef>;
  readStatus(externalId: string): Promise<TicketStatus>;
  addComment?(externalId: string, text: string): Promise<void>;
}

/**
 * A ticketing call that failed. `permanent` failures (a 4xx other than 408/409/429: bad credentials,
 * an unknown project) will fail again on retry; the job stops and the requester is told.
 */
export class TicketingError extends Error {
  readonly code = 'ticketing.failed';
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly status: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** How long one ticketing call may take before it is abandoned (and retried by the job). */
export const TICKETING_TIMEOUT_MS = 10_000;

/**
 * One HTTP call to a ticketing system, JSON in and out. Network failures, timeouts, 5xx and 429
 * are worth retrying; other 4xx are not. The answer's text goes into the error, never the request
 * (which carries credentials in its headers).
 */
export async function callJson(
  system: string,
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  timeoutMs = TICKETING_TIMEOUT_MS,
): Promise<{ status: number; body: unknown }> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method,
      headers: { accept: 'application/json', ...init.headers },
      ...(init.body === undefined ? {} : { body: init.body }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new TicketingError(
      `${system} did not answer ${init.method} ${new URL(url).pathname}`,
      false,
      null,
      {
        cause: error,
      },
    );
  }
  const text = await response.text();
  if (!response.ok) {
    const retryable = response.status >= 500 || [408, 409, 429].includes(response.status);
    throw new TicketingError(
      `${system} answered ${response.status} to ${init.method} ${new URL(url).pathname}: ${text.slice(0, 300)}`,
      !retryable,
      response.status,
    );
  }
  try {
    return { status: response.status, body: text === '' ? null : JSON.parse(text) };
  } catch (error) {
    throw new TicketingError(`${system} answered with something other than JSON`, false, response.status, {
      cause: error,
    });
  }
}

export const basicAuth = (user: string, secret: string): string =>
  `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

/** Device names listed in a ticket body; the rest are counted (ticket fields have size limits). */
export const DEVICES_IN_TICKET = 200;

/** The ticket body as plain lines, shared by the connectors that take text. */
export function ticketLines(request: TicketRequest): string[] {
  const shown = request.devices.slice(0, DEVICES_IN_TICKET);
  const more = request.devices.length - shown.length;
  return [
    `Remediation ${request.number} requested by ${request.requester} through Vigil.`,
    `Recommendation: ${request.recommendation}`,
    ...(request.actionRef === null ? [] : [`Investigation action: ${request.actionRef}`]),
    `Priority: ${request.priority}. Due: ${request.dueAt.toISOString()}.`,
    ...(request.notes.trim() === '' ? [] : [`Notes: ${request.notes}`]),
    `Devices (${request.devices.length}): ${shown.join(', ')}${more > 0 ? `, and ${more} more (full list in Vigil)` : ''}`,
    ...(request.devicesLeft > 0
      ? [
          `${request.devicesLeft} further devices exceed the per-request cap and will come in another request.`,
        ]
      : []),
    `In Vigil: ${request.vigilUrl}`,
  ];
}
