import { describe, expect, it } from 'vitest';
import { escapeAndCut, escapeMrkdwn, link, safeUrl } from './mrkdwn.js';

/** Any Slack control sequence left in mrkdwn: `<!channel>`, `<@U123>`, `<https://x|label>`. */
const CONTROL = /<[!@#]|<https?:/;

describe('escapeMrkdwn', () => {
  it('neutralises mentions, broadcasts and disguised links', () => {
    const escaped = escapeMrkdwn('<!channel> <@U123> <https://evil|click> & more');
    expect(escaped).toBe('&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil|click&gt; &amp; more');
    expect(escaped).not.toMatch(CONTROL);
  });

  it('escapes an already escaped entity again, so it shows as typed', () => {
    expect(escapeMrkdwn('&lt;b&gt;')).toBe('&amp;lt;b&amp;gt;');
  });
});

describe('escapeAndCut', () => {
  it('keeps short text whole', () => {
    expect(escapeAndCut('a < b', 100)).toBe('a &lt; b');
  });

  it('never passes the limit and never cuts inside an entity', () => {
    const text = '<'.repeat(2000);
    for (const max of [3000, 2999, 2998, 2997, 2996, 10, 7]) {
      const cut = escapeAndCut(text, max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(cut.endsWith('…')).toBe(true);
      expect(cut.slice(0, -1)).toMatch(/^(&lt;)*$/);
    }
  });

  it('does not split a surrogate pair', () => {
    const cut = escapeAndCut('🚨'.repeat(10), 6);
    expect(cut).toBe('🚨🚨…');
  });
});

describe('links', () => {
  it('allows only http(s) URLs', () => {
    expect(safeUrl('javascript:alert(1)')).toBeNull();
    expect(safeUrl('data:text/html,x')).toBeNull();
    expect(safeUrl('not a url')).toBeNull();
    expect(safeUrl('https://portal.example/a?b=c')).toBe('https://portal.example/a?b=c');
  });

  it('cannot be broken out of by | or > in the URL, and escapes the label', () => {
    expect(link('https://x.example/a|b>c', '<!here>')).toBe('<https://x.example/a%7Cb%3Ec|&lt;!here&gt;>');
    expect(link('javascript:alert(1)', 'click')).toBe('click');
  });
});
