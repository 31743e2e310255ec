import type { RemediationPriority } from '../../domain/index.js';
import {
  basicAuth,
  callJson,
  type TicketGateway,
  TicketingError,
  type TicketStatus,
  ticketLines,
} from './port.js';

export type ServiceNowTable = 'incident' | 'sc_task';

export interface ServiceNowOptions {
  /** `https://instance.service-now.com` */
  readonly instanceUrl: string;
  readonly user: string;
  readonly password: string;
  /** @defaultValue incident */
  readonly table?: ServiceNowTable;
  readonly timeoutMs?: number;
}

/**
 * ServiceNow's `state` choice values onto Vigil's three. incident: 1 New, 2 In Progress,
 * 3 On Hold, 6 Resolved, 7 Closed, 8 Canceled; sc_task: -5 Pending, 1 Open, 2 Work in Progress,
 * 3 Closed Complete, 4 Closed Incomplete, 7 Closed Skipped. Canceled, incomplete and skipped
 * work did not remediate anything, so it stays open in Vigil for a person to decide.
 */
export function serviceNowStatus(table: ServiceNowTable, state: string | undefined): TicketStatus {
  if (table === 'incident') {
    if (state === '6' || state === '7') return 'done';
    if (state === '2' || state === '3') return 'in_progress';
    return 'open';
  }
  if (state === '3') return 'done';
  if (state === '2') return 'in_progress';
  return 'open';
}

/** Impact and urgency (1 high, 2 medium, 3 low), which ServiceNow turns into its priority. */
const URGENCY: Readonly<Record<RemediationPriority, string>> = {
  critical: '1',
  high: '1',
  medium: '2',
  low: '3',
};
const IMPACT: Readonly<Record<RemediationPriority, string>> = {
  critical: '1',
  high: '2',
  medium: '2',
  low: '3',
};

interface ServiceNowRecord {
  readonly sys_id?: string;
  readonly number?: string;
  readonly state?: string;
}

/**
 * ServiceNow Table API: records created with POST /api/now/table/<table> carrying Vigil's key in
 * `correlation_id`, found again with `sysparm_query=correlation_id=<key>`, read by sys_id, and
 * commented through `work_notes`. Basic auth.
 */
export function serviceNowTickets(options: ServiceNowOptions): TicketGateway {
  const base = options.instanceUrl.replace(/\/$/, '');
  const table = options.table ?? 'incident';
  const headers = {
    authorization: basicAuth(options.user, options.password),
    'content-type': 'application/json',
  };
  const call = (method: string, path: string, body?: unknown) =>
    callJson(
      'ServiceNow',
      `${base}${path}`,
      {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      },
      options.timeoutMs,
    );
  const link = (sysId: string) =>
    `${base}/nav_to.do?uri=${encodeURIComponent(`${table}.do?sys_id=${sysId}`)}`;

  return {
    connector: 'servicenow',
    polls: true,
    async createTicket(request, idempotencyKey) {
      const query = new URLSearchParams({
        sysparm_query: `correlation_id=${idempotencyKey}`,
        sysparm_fields: 'sys_id,number,state',
        sysparm_limit: '1',
      });
      const found = await call('GET', `/api/now/table/${table}?${query}`);
      const existing = (found.body as { result?: ServiceNowRecord[] } | null)?.result?.[0]?.sys_id;
      if (existing !== undefined) return { externalId: existing, url: link(existing), reused: true };
      const { body } = await call('POST', `/api/now/table/${table}?sysparm_fields=sys_id,number,state`, {
        short_description: `[Vigil ${request.number}] ${request.title}`.slice(0, 160),
        description: ticketLines(request).join('\n'),
        correlation_id: idempotencyKey,
        correlation_display: 'Vigil',
        urgency: URGENCY[request.priority],
        impact: IMPACT[request.priority],
        due_date: request.dueAt.toISOString().slice(0, 19).replace('T', ' '),
      });
      const sysId = (body as { result?: ServiceNowRecord } | null)?.result?.sys_id;
      if (typeof sysId !== 'string')
        throw new TicketingError('ServiceNow created a record but sent no sys_id', false);
      return { externalId: sysId, url: link(sysId) };
    },
    async readStatus(externalId) {
      const { body } = await call(
        'GET',
        `/api/now/table/${table}/${encodeURIComponent(externalId)}?sysparm_fields=state`,
      );
      return serviceNowStatus(table, (body as { result?: ServiceNowRecord } | null)?.result?.state);
    },
    async addComment(externalId, text) {
      await call('PATCH', `/api/now/table/${table}/${encodeURIComponent(externalId)}`, { work_notes: text });
    },
  };
}
