import { httpUrl } from '../../domain/index.js';
/**
 * Slack mrkdwn from untrusted text. Slack parses `<...>` as control sequences (`<!channel>`,
 * `<@U123>`, `<https://evil|click>`), so alert text from sources must have `&`, `<` and `>`
 * escaped before it reaches a mrkdwn field; then nothing in it can ping people or disguise a link.
 * Bold and italics in a title are harmless and stay as the source wrote them.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const ELLIPSIS = '…';

/**
 * Escapes `text` and cuts it to at most `max` characters of escaped output, never inside an
 * entity (`&amp;`) or a surrogate pair, marking a cut with an ellipsis. Block Kit counts the
 * escaped text, so the limit applies after escaping.
 */
export function escapeAndCut(text: string, max: number): string {
  const escaped = escapeMrkdwn(text);
  if (escaped.length <= max) return escaped;
  let end = Math.max(0, max - ELLIPSIS.length);
  const entityStart = escaped.lastIndexOf('&', end - 1);
  // An entity is at most 5 characters (`&amp;`); if one starts just before the cut and is not closed before it, cut before it.
  if (entityStart >= 0 && entityStart > end - 5 && !escaped.slice(entityStart, end).includes(';'))
    end = entityStart;
  const code = escaped.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${escaped.slice(0, end)}${ELLIPSIS}`;
}

/** Plain text (headers, buttons, modal titles) is not parsed by Slack; it only needs its length cut. */
export function cutPlain(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - ELLIPSIS.length;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}${ELLIPSIS}`;
}

/** An http(s) URL fit to put in a link or a button, or null for anything else (`javascript:`, junk). */
export function safeUrl(url: string | null | undefined): string | null {
  const href = httpUrl(url);
  // `|`, `<` and `>` would end Slack's link syntax early; URL.href leaves them as they are.
  const escaped = href?.replace(/\|/g, '%7C').replace(/>/g, '%3E').replace(/</g, '%3C') ?? null;
  return escaped !== null && escaped.length <= 3000 ? escaped : null;
}

/** A mrkdwn link whose label is escaped text; without a safe URL, just the label. */
export function link(url: string | null | undefined, label: string): string {
  const href = safeUrl(url);
  const text = escapeMrkdwn(label);
  return href === null ? text : `<${href}|${text}>`;
}

/** A date people read in their own time zone, with an ISO fallback for clients that cannot format it. */
export function slackDate(date: Date): string {
  const seconds = Math.floor(date.getTime() / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${date.toISOString()}>`;
}

/** Mentions a Slack user by ID (IDs are letters and digits only, so nothing can be smuggled in). */
export function mentionUser(id: string): string | null {
  return /^[UW][A-Z0-9]{1,20}$/.test(id) ? `<@${id}>` : null;
}
