import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** An issue as the fake holds it (the fields Vigil sends and reads). */
export interface FakeJiraIssue {
  readonly id: string;
  readonly key: string;
  readonly fields: {
    summary: string;
    description: unknown;
    labels: string[];
    duedate: string | null;
    status: { name: string; statusCategory: { key: 'new' | 'indeterminate' | 'done' } };
  };
  readonly comments: unknown[];
}

/**
 * A local stand-in for Jira Cloud REST v3 (node:http on 127.0.0.1), after Atlassian's documented
 * shapes: Basic auth (email:API token), POST /rest/api/3/issue answering 201 `{ id, key, self }`,
 * POST /rest/api/3/search/jql with `{ jql, fields, maxResults }` answering `{ issues, isLast }`
 * (only `project = "X" AND labels = "Y"` is understood), GET /rest/api/3/issue/{key}, and
 * POST .../comment. Answers can be slowed (`latencyMs`), a create can lose its answer, and the
 * whole site can be down (`unavailable`).
 */
export class FakeJira {
  readonly issues = new Map<string, FakeJiraIssue>();
  readonly requests: { method: string; path: string }[] = [];
  latencyMs: number;
  /** Creates whose answer is lost: the issue is made, then the connection is cut. */
  dropCreateAnswers = 0;
  /** While set, every request is answered 503 (an outage), as Atlassian's edge does. */
  unavailable = false;
  private server: Server | null = null;
  private counter = 0;
  url = '';

  constructor(
    readonly options: { email: string; apiToken: string; projectKey: string; latencyMs?: number } = {
      email: 'vigil@example.com',
      apiToken: 'jira-token-123',
      projectKey: 'SEC',
    },
  ) {
    this.latencyMs = options.latencyMs ?? 0;
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        response.writeHead(500);
        response.end(String(error));
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** Moves an issue to a status of the given category, as a person would in Jira. */
  transition(key: string, category: 'new' | 'indeterminate' | 'done'): FakeJiraIssue {
    const issue = this.issues.get(key);
    if (issue === undefined) throw new Error(`no issue ${key}`);
    const name = { new: 'To Do', indeterminate: 'In Progress', done: 'Done' }[category];
    issue.fields.status = { name, statusCategory: { key: category } };
    return issue;
  }

  count(method: string, path: string): number {
    return this.requests.filter((r) => r.method === method && r.path === path).length;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(request.url ?? '/', this.url);
    const method = request.method ?? 'GET';
    this.requests.push({ method, path: url.pathname });
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (this.unavailable) return send(503, { errorMessages: ['Service Unavailable'] });
    const expected = `Basic ${Buffer.from(`${this.options.email}:${this.options.apiToken}`).toString('base64')}`;
    if (request.headers.authorization !== expected) return send(401, { errorMessages: ['Unauthorized'] });
    const body = text === '' ? {} : (JSON.parse(text) as Record<string, any>);

    if (method === 'POST' && url.pathname === '/rest/api/3/issue') {
      const fields = body.fields ?? {};
      const errors: Record<string, string> = {};
      if (fields.project?.key !== this.options.projectKey) errors.project = 'valid project is required';
      if (typeof fields.summary !== 'string' || fields.summary === '')
        errors.summary = 'You must specify a summary';
      if (fields.issuetype?.name === undefined && fields.issuetype?.id === undefined)
        errors.issuetype = 'required';
      if (fields.description !== undefined && fields.description?.type !== 'doc') {
        errors.description = 'Operation value must be an Atlassian Document';
      }
      if ((fields.labels ?? []).some((label: string) => /\s/.test(label))) errors.labels = 'no spaces';
      if (Object.keys(errors).length > 0) return send(400, { errorMessages: [], errors });
      this.counter += 1;
      const key = `${this.options.projectKey}-${this.counter}`;
      const issue: FakeJiraIssue = {
        id: String(10_000 + this.counter),
        key,
        fields: {
          summary: fields.summary,
          description: fields.description,
          labels: fields.labels ?? [],
          duedate: fields.duedate ?? null,
          status: { name: 'To Do', statusCategory: { key: 'new' } },
        },
        comments: [],
      };
      this.issues.set(key, issue);
      if (this.dropCreateAnswers > 0) {
        this.dropCreateAnswers -= 1;
        request.socket.destroy();
        return;
      }
      return send(201, { id: issue.id, key, self: `${this.url}/rest/api/3/issue/${issue.id}` });
    }

    if (method === 'POST' && url.pathname === '/rest/api/3/search/jql') {
      const jql = String(body.jql ?? '');
      const project = /project\s*=\s*"?([A-Z0-9_]+)"?/.exec(jql)?.[1];
      const label = /labels\s*=\s*"([^"]+)"/.exec(jql)?.[1];
      const found = [...this.issues.values()].filter(
        (issue) =>
          (project === undefined || issue.key.startsWith(`${project}-`)) &&
          (label === undefined || issue.fields.labels.includes(label)),
      );
      const max = Number(body.maxResults ?? 50);
      return send(200, {
        issues: found
          .slice(0, max)
          .map((issue) => ({ id: issue.id, key: issue.key, fields: { status: issue.fields.status } })),
        isLast: found.length <= max,
      });
    }

    const issueMatch = /^\/rest\/api\/3\/issue\/([^/]+)(\/comment)?$/.exec(url.pathname);
    if (issueMatch !== null) {
      const issue = this.issues.get(decodeURIComponent(issueMatch[1] ?? ''));
      if (issue === undefined)
        return send(404, {
          errorMessages: ['Issue does not exist or you do not have permission to see it.'],
        });
      if (method === 'GET' && issueMatch[2] === undefined) {
        return send(200, { id: issue.id, key: issue.key, fields: issue.fields });
      }
      if (method === 'POST' && issueMatch[2] === '/comment') {
        if (body.body?.type !== 'doc') return send(400, { errorMessages: ['Comment body must be ADF'] });
        issue.comments.push(body.body);
        return send(201, { id: String(issue.comments.length), body: body.body });
      }
    }
    return send(404, { errorMessages: [`No route ${method} ${url.pathname}`] });
  }
}
