/**
 * Text from alert sources is untrusted: a title may carry markdown links that disguise their
 * target, `<at>` mentions, or megabytes of log. Teams renders markdown in TextBlock and FactSet
 * values; TextRun (inside RichTextBlock) is never parsed as markdown, so long free text goes
 * there verbatim and only short values pass through `neutralise`.
 */

const ZWSP = '\u200B';

/**
 * Makes a string inert where Teams parses markdown: a zero-width space separates `](`, so
 * `[label](https://evil)` is shown as typed rather than as a link, and `<at>` can never become a
 * mention (mentions also need an entity, which Vigil never adds, so this is belt and braces).
 * Everything else is shown as typed: backslash escapes are not reliably honoured by every Teams
 * client, and inserting characters into IOCs would break copy and paste.
 */
export function neutralise(value: string): string {
  return value
    .replace(/\r\n?/g, '\n')
    .replace(/<(\/?)at\b/gi, `<${ZWSP}$1at`)
    .replace(/\]\s*\(/g, `]${ZWSP}(`);
}

/** Cuts on a code point boundary and marks the cut; `max` counts UTF-16 units like the limits do. */
export function cut(value: string, max: number): string {
  if (value.length <= max) return value;
  return `${Array.from(value.slice(0, max - 1)).join('')}…`;
}

/** `neutralise` then `cut`, for short values in markdown fields (facts, replies). */
export const inert = (value: string, max: number): string => cut(neutralise(value), max);

/** An http(s) URL, or null: `javascript:`, `data:` and relative URLs never reach a card. */
export { httpUrl } from '../../domain/index.js';

/** A fixed, unambiguous time for a card every viewer shares: `2026-11-23 10:30 UTC`. */
export const cardTime = (date: Date): string => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
