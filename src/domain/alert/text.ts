/**
 * Makes source text safe to store and show: lone UTF-16 surrogates become U+FFFD (Postgres and
 * UTF-8 encoders reject them), NUL bytes go (Postgres text cannot hold them), and the length is
 * capped. Everything else, markup and mentions included, is kept verbatim: escaping belongs to
 * each renderer (mrkdwn, Adaptive Card markdown, HTML), never to storage.
 */
export function cleanText(value: string, maxLength: number): string {
  const wellFormed = value.toWellFormed().replaceAll('\u0000', '');
  if (wellFormed.length <= maxLength) return wellFormed;
  // Cut on a code point boundary so an emoji is never split into a lone surrogate.
  return `${Array.from(wellFormed.slice(0, maxLength)).slice(0, -1).join('')}…`;
}

/**
 * The same cleaning through any JSON value, for raw payloads kept in jsonb. A value that needs
 * none, as nearly every payload, is given back as it is: no copy of a large payload per alert.
 */
export function cleanJson(value: unknown): unknown {
  return isClean(value) ? value : cleanCopy(value);
}

const KEY_MAX = 1_000;

const isCleanText = (text: string): boolean => text.isWellFormed() && !text.includes('\u0000');

/** Whether `cleanCopy` would change nothing; any object other than a plain one is copied, as ever. */
function isClean(value: unknown): boolean {
  if (typeof value === 'string') return isCleanText(value);
  if (Array.isArray(value)) return value.every(isClean);
  if (value === null || typeof value !== 'object') return true;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  for (const key in value) {
    if (key.length > KEY_MAX || !isCleanText(key) || !isClean((value as Record<string, unknown>)[key]))
      return false;
  }
  return true;
}

function cleanCopy(value: unknown): unknown {
  if (typeof value === 'string') return value.toWellFormed().replaceAll('\u0000', '');
  if (Array.isArray(value)) return value.map(cleanCopy);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [cleanText(key, KEY_MAX), cleanCopy(inner)]),
    );
  }
  return value;
}

export const TITLE_MAX = 500;
export const DESCRIPTION_MAX = 100_000;

/**
 * An http(s) URL, normalised, or null for anything else (`javascript:`, `data:`, relative, junk):
 * the one rule every surface applies before a source's URL becomes a link or a button.
 */
export function httpUrl(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}
