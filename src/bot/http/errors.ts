import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import type { DomainError } from '../../domain/index.js';

/** One failing field: its path in the body (`alerts.0.labels`) and what is wrong with it. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/** The body of every error answer: a stable code, a sentence for people, and failing fields where any. */
export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly issues?: readonly FieldIssue[];
  };
}

export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.length === 0 ? '(body)' : issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

export function sendInvalid(reply: FastifyReply, error: z.ZodError, what = 'request body'): FastifyReply {
  const issues = fieldIssues(error);
  const shown = issues.slice(0, 10).map((issue) => `${issue.path}: ${issue.message}`);
  const more = issues.length > shown.length ? `; and ${issues.length - shown.length} more` : '';
  return reply.code(400).send({
    error: { code: 'request.invalid', message: `Invalid ${what}: ${shown.join('; ')}${more}`, issues },
  } satisfies ErrorBody);
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).send({ error: { code, message } } satisfies ErrorBody);
}

/** HTTP status of a domain refusal. */
export function statusOf(error: DomainError): number {
  if (error.code.endsWith('.not_found')) return 404;
  if (['auth.forbidden', 'person.disabled', 'token.service_refused'].includes(error.code)) return 403;
  if (error.code === 'person.link_conflict' || error.code.endsWith('.exists')) return 409;
  if (error.code === 'alert.version_conflict' || error.code.endsWith('.transition_not_allowed')) return 409;
  return 400;
}

export const sendDomainError = (reply: FastifyReply, error: DomainError): FastifyReply =>
  reply
    .code(statusOf(error))
    .send({ error: { code: error.code, message: error.message } } satisfies ErrorBody);
