import { pino } from 'pino';

/**
 * Keeps secrets out of log lines at any depth. pino's `redact` needs fixed paths, but secrets
 * hide wherever a library put them: an HTTP client's error carries its request config
 * (`config.headers.Authorization`), the raw request (`request._header`, every header as text),
 * or the original error. So every logged object is copied with:
 * - values under secret-sounding keys (token, secret, password, passphrase, authorization, cookie, ...) replaced;
 * - class instances other than errors, dates and URLs (sockets, requests, agents) named, not walked;
 * - bearer and basic credentials and Slack tokens inside strings replaced;
 * - depth, array length and cycles bounded, so a hostile or huge object costs little.
 */
const SECRET_KEY =
  /token|secret|passw|passphrase|authorization|cookie|signature|credential|assertion|private[-_]?key|api[-_]?key|routing_key/i;
// Form-encoded client secrets and assertions (a token request's body) too.
const SECRET_TEXT =
  /\b(?:xox[a-z]|xapp)-[A-Za-z0-9-]+|\bclient_(?:secret|assertion)=[^&\s]+|\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const REDACTED = '[redacted]';
const MAX_DEPTH = 8;
const MAX_ITEMS = 100;

/** A string with any credential in it replaced. */
export function scrubText(text: string): string {
  // Most strings hold none: test first, so the common case allocates nothing.
  SECRET_TEXT.lastIndex = 0;
  if (!SECRET_TEXT.test(text)) return text;
  return text.replace(SECRET_TEXT, (_match, scheme: string | undefined) =>
    scheme === undefined ? REDACTED : `${scheme} ${REDACTED}`,
  );
}

/** A copy of `value` that is safe to log (see above). */
export function scrub(value: unknown, depth = 0, ancestors: Set<object> = new Set()): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value;
  if (value instanceof URL) return scrubText(value.href);
  // `ancestors` holds the objects on the way down only: the same object twice side by side is
  // fine, an object inside itself is a cycle.
  if (ancestors.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[deep]';
  if (value instanceof Error)
    return within(value, ancestors, () => scrub(pino.stdSerializers.err(value), depth, ancestors));
  if (Array.isArray(value)) {
    return within(value, ancestors, () => {
      const items = value.slice(0, MAX_ITEMS).map((item) => scrub(item, depth + 1, ancestors));
      if (value.length > MAX_ITEMS) items.push(`[${value.length - MAX_ITEMS} more]`);
      return items;
    });
  }
  const proto = Object.getPrototypeOf(value) as object | null;
  // A serialized error's prototype is pino's own; plain data has Object's or none.
  const plain = proto === null || proto === Object.prototype || 'raw' in value;
  if (!plain) return `[${(value as object).constructor?.name ?? 'object'}]`;
  return scrubFields(value, depth, ancestors);
}

function within<T>(value: object, ancestors: Set<object>, walk: () => T): T {
  ancestors.add(value);
  try {
    return walk();
  } finally {
    ancestors.delete(value);
  }
}

/** The object's own fields, each scrubbed; secret-sounding keys keep their place with the value replaced. */
function scrubFields(value: object, depth = 0, ancestors: Set<object> = new Set()): Record<string, unknown> {
  return within(value, ancestors, () => {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key];
      copy[key] =
        SECRET_KEY.test(key) && item !== undefined && item !== null
          ? REDACTED
          : scrub(item, depth + 1, ancestors);
    }
    return copy;
  });
}

/** pino options that scrub every line: the merged object, the `err` key and the message. */
export const scrubbingOptions = {
  formatters: {
    log: (object: Record<string, unknown>) => scrubFields(object),
  },
  serializers: {
    err: (value: unknown) => scrub(value),
    msg: (value: unknown) => (typeof value === 'string' ? scrubText(value) : value),
  },
} satisfies pino.LoggerOptions;
