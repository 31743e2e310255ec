import type { FastifyInstance } from 'fastify';

/**
 * How deeply a request's JSON may nest. Real payloads (Graph evidence, Alertmanager labels) stay
 * under ten; a body nested thousands deep is parsed by JSON.parse but overflows the stack of every
 * recursive walk after it (validation, JSON.stringify into jsonb), which would be a 500.
 */
export const MAX_JSON_DEPTH = 100;

/** Does `text` open more than `max` arrays or objects inside each other? One pass, no parsing. */
export function jsonNestingExceeds(text: string, max = MAX_JSON_DEPTH): boolean {
  if (text.length <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i += 1; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth -= 1;
    }
  }
  return false;
}

/** The 400 a body nested too deeply gets, ready for a content-type parser's `done`. */
export const tooDeep = (): Error =>
  Object.assign(new Error(`The JSON body is nested more than ${MAX_JSON_DEPTH} levels deep.`), {
    statusCode: 400,
    code: 'request.too_deep',
  });

/** Fastify's own JSON parser (prototype-poisoning checks kept), refusing bodies nested too deeply. */
export function guardJsonDepth(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonNestingExceeds(body as string)) done(tooDeep(), undefined);
    else parse(request, body as string, done);
  });
}
