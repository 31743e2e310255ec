import {
  basicAuth,
  callJson,
  type TicketGateway,
  TicketingError,
  type TicketRequest,
  type TicketStatus,
  ticketLines,
} from './port.js';

export interface JiraOptions {
  /** `https://your-domain.atlassian.net` */
  readonly baseUrl: string;
  readonly email: string;
  readonly apiToken: string;
  readonly projectKey: string;
  /** @defaultValue Task */
  readonly issueType?: string;
  readonly timeoutMs?: number;
}

/** Atlassian Document Format: one paragraph per line, the shape Jira Cloud v3 wants for rich text. */
export function adf(lines: readonly string[]) {
  return {
    type: 'doc',
    version: 1,
    content: lines.map((line) => ({ type: 'paragraph', content: [{ type: 'text', text: line }] })),
  };
}

/**
 * The label carrying Vigil's idempotency key. Labels are searchable with JQL and cannot hold
 * spaces; the key is restricted to `[A-Za-z0-9_-]` where it is made.
 */
export const jiraKeyLabel = (idempotencyKey: string): string => `vigil-${idempotencyKey}`;

/** Jira's status categories (`new`, `indeterminate`, `done`), whatever a workflow names its statuses. */
export function jiraStatus(categoryKey: string | undefined): TicketStatus {
  if (categoryKey === 'done') return 'done';
  if (categoryKey === 'indeterminate') return 'in_progress';
  return 'open';
}

interface JiraIssue {
  readonly id?: string;
  readonly key?: string;
  readonly fields?: { readonly status?: { readonly statusCategory?: { readonly key?: string } } };
}

/**
 * Jira Cloud REST v3: issues created with POST /rest/api/3/issue (ADF description, the key as a
 * label), found again with JQL (POST /rest/api/3/search/jql), status read from its status
 * category, comments added. Basic auth with the account email and an API token.
 *
 * Search is eventually consistent in Jira Cloud: an issue created a moment ago may not be found
 * yet. The ticket job's backoff (seconds, rising) gives the index time before a retry searches.
 */
export function jiraTickets(options: JiraOptions): TicketGateway {
  const base = options.baseUrl.replace(/\/$/, '');
  const headers = {
    authorization: basicAuth(options.email, options.apiToken),
    'content-type': 'application/json',
  };
  const call = (method: string, path: string, body?: unknown) =>
    callJson(
      'Jira',
      `${base}${path}`,
      {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      },
      options.timeoutMs,
    );
  const browse = (key: string) => `${base}/browse/${encodeURIComponent(key)}`;

  async function find(idempotencyKey: string): Promise<string | null> {
    const { body } = await call('POST', '/rest/api/3/search/jql', {
      jql: `project = "${options.projectKey}" AND labels = "${jiraKeyLabel(idempotencyKey)}" ORDER BY created ASC`,
      fields: ['status'],
      maxResults: 1,
    });
    const issue = (body as { issues?: JiraIssue[] } | null)?.issues?.[0];
    return issue?.key ?? null;
  }

  return {
    connector: 'jira',
    polls: true,
    async createTicket(request: TicketRequest, idempotencyKey: string) {
      const existing = await find(idempotencyKey);
      if (existing !== null) return { externalId: existing, url: browse(existing), reused: true };
      const { body } = await call('POST', '/rest/api/3/issue', {
        fields: {
          project: { key: options.projectKey },
          issuetype: { name: options.issueType ?? 'Task' },
          summary: `[Vigil ${request.number}] ${request.title}`.slice(0, 254),
          description: adf(ticketLines(request)),
          labels: ['vigil', jiraKeyLabel(idempotencyKey), `vigil-priority-${request.priority}`],
          duedate: request.dueAt.toISOString().slice(0, 10),
        },
      });
      const key = (body as JiraIssue | null)?.key;
      if (typeof key !== 'string') throw new TicketingError('Jira created an issue but sent no key', false);
      return { externalId: key, url: browse(key) };
    },
    async readStatus(externalId) {
      const { body } = await call('GET', `/rest/api/3/issue/${encodeURIComponent(externalId)}?fields=status`);
      return jiraStatus((body as JiraIssue | null)?.fields?.status?.statusCategory?.key);
    },
    async addComment(externalId, text) {
      await call('POST', `/rest/api/3/issue/${encodeURIComponent(externalId)}/comment`, {
        body: adf([text]),
      });
    },
  };
}
