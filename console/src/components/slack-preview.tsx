import type { ComponentChildren } from 'preact';

/**
 * A Slack Block Kit message drawn in plain HTML: header, section (text, fields), context,
 * actions and divider blocks, with Slack's mrkdwn turned into elements. Every piece of text is
 * a text node (never innerHTML), so whatever an alert says is shown, not run.
 */
type Block = Record<string, unknown>;

/** Slack's severity circles, drawn as CSS dots so they show without an emoji font. */
const DOTS: Readonly<Record<string, string>> = {
  red_circle: 'dot-red',
  large_orange_circle: 'dot-orange',
  large_yellow_circle: 'dot-yellow',
  large_blue_circle: 'dot-blue',
  white_circle: 'dot-white',
};

const EMOJI: Readonly<Record<string, string>> = {
  white_check_mark: '✅',
  warning: '⚠️',
  rotating_light: '🚨',
  hourglass_flowing_sand: '⏳',
  eyes: '👀',
  lock: '🔒',
  mag: '🔍',
};

const decodeEntities = (text: string): string =>
  text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');

const safeLink = (url: string): string | null => (/^https?:\/\//i.test(url) ? url : null);

/** Bold, italic, strike and code spans, plus `:emoji:`, as nested elements. */
function inline(text: string, key: string): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  const pattern = /(`[^`\n]+`)|(\*[^*\n]+\*)|(_[^_\n]+_)|(~[^~\n]+~)|(:[a-z0-9_+-]+:)/g;
  let last = 0;
  let index = 0;
  for (const match of text.matchAll(pattern)) {
    const at = match.index ?? 0;
    if (at > last) out.push(decodeEntities(text.slice(last, at)));
    const token = match[0];
    const inner = decodeEntities(token.slice(1, -1));
    const k = `${key}.${index++}`;
    if (match[1] !== undefined) out.push(<code key={k}>{inner}</code>);
    else if (match[2] !== undefined) out.push(<strong key={k}>{inner}</strong>);
    else if (match[3] !== undefined) out.push(<em key={k}>{inner}</em>);
    else if (match[4] !== undefined) out.push(<s key={k}>{inner}</s>);
    else if (DOTS[inner] !== undefined) out.push(<span key={k} class={`dot ${DOTS[inner]}`} title={inner} />);
    else out.push(EMOJI[inner] ?? token);
    last = at + token.length;
  }
  if (last < text.length) out.push(decodeEntities(text.slice(last)));
  return out;
}

/** `<!date^1764000000^{date_short_pretty} {time}|fallback>`: Slack shows it in the reader's time zone; so do we. */
function slackDate(target: string, fallback: string | undefined): string {
  const seconds = Number(target.split('^')[1]);
  return Number.isFinite(seconds) && seconds > 0
    ? new Date(seconds * 1000).toLocaleString()
    : decodeEntities(fallback ?? '');
}

/** Slack's angle-bracket forms: `<url|label>`, `<@U123>`, `<!date^...|fallback>`, `<#C123>`. */
export function mrkdwn(text: string): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  let last = 0;
  let index = 0;
  for (const match of text.matchAll(/<([^<>]+)>/g)) {
    const at = match.index ?? 0;
    if (at > last) out.push(...inline(text.slice(last, at), `t${index}`));
    const [target = '', label] = (match[1] ?? '').split('|', 2);
    const k = `l${index++}`;
    if (target.startsWith('@')) out.push(<span key={k} class="mention">{`@${target.slice(1)}`}</span>);
    else if (target.startsWith('#'))
      out.push(<span key={k} class="mention">{`#${label ?? target.slice(1)}`}</span>);
    else if (target.startsWith('!date^')) out.push(slackDate(target, label));
    else if (target.startsWith('!')) out.push(decodeEntities(label ?? target.slice(1)));
    else {
      const url = safeLink(decodeEntities(target));
      const shown = decodeEntities(label ?? target);
      out.push(
        url === null ? (
          shown
        ) : (
          <a key={k} href={url} target="_blank" rel="noopener noreferrer">
            {shown}
          </a>
        ),
      );
    }
    last = at + match[0].length;
  }
  if (last < text.length) out.push(...inline(text.slice(last), `t${index}`));
  return out;
}

function textOf(value: unknown): ComponentChildren {
  if (typeof value !== 'object' || value === null) return null;
  const object = value as { type?: string; text?: string };
  if (typeof object.text !== 'string') return null;
  return object.type === 'mrkdwn' ? mrkdwn(object.text) : object.text;
}

function element(value: unknown, key: number): ComponentChildren {
  if (typeof value !== 'object' || value === null) return null;
  const item = value as { type?: string; text?: unknown; style?: string; alt_text?: string };
  if (item.type === 'button') {
    return (
      <span key={key} class={`slack-button ${item.style ?? ''}`}>
        {textOf(item.text)}
      </span>
    );
  }
  if (item.type === 'image') return <span key={key}>{`[${item.alt_text ?? 'image'}]`}</span>;
  if (item.type === 'mrkdwn' || item.type === 'plain_text') return <span key={key}>{textOf(item)}</span>;
  return (
    <span key={key} class="slack-button">
      {textOf(item.text) ?? String(item.type)}
    </span>
  );
}

function block(value: Block, key: number): ComponentChildren {
  switch (value.type) {
    case 'header':
      return (
        <div key={key} class="slack-header">
          {textOf(value.text)}
        </div>
      );
    case 'section': {
      const fields = Array.isArray(value.fields) ? value.fields : [];
      return (
        <div key={key} class="slack-section">
          {value.text !== undefined && <div class="slack-text">{textOf(value.text)}</div>}
          {fields.length > 0 && (
            <div class="slack-fields">
              {fields.map((field, index) => (
                <div key={index}>{textOf(field)}</div>
              ))}
            </div>
          )}
          {value.accessory !== undefined && <div class="slack-accessory">{element(value.accessory, 0)}</div>}
        </div>
      );
    }
    case 'context':
      return (
        <div key={key} class="slack-context">
          {(Array.isArray(value.elements) ? value.elements : []).map(element)}
        </div>
      );
    case 'actions':
      return (
        <div key={key} class="slack-actions">
          {(Array.isArray(value.elements) ? value.elements : []).map(element)}
        </div>
      );
    case 'divider':
      return <hr key={key} class="slack-divider" />;
    default:
      return (
        <div key={key} class="muted small">
          {`(${String(value.type)} block)`}
        </div>
      );
  }
}

export function SlackPreview({ blocks }: { blocks: readonly Block[] }) {
  return (
    <div class="slack-message" data-testid="slack-card">
      <div class="slack-author">
        <span class="slack-avatar">V</span>
        <strong>Vigil</strong>
        <span class="slack-app">APP</span>
      </div>
      {blocks.map(block)}
    </div>
  );
}
