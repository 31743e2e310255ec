import { describe, expect, it } from 'vitest';
import { cleanJson, cleanText } from './text.js';

const FFFD = '\uFFFD';

describe('cleanText', () => {
  it('removes NUL characters', () => {
    expect(cleanText('a\u0000b\u0000\u0000c', 100)).toBe('abc');
    expect(cleanText('\u0000', 100)).toBe('');
  });

  it.each([
    ['a lone high surrogate', '\ud83d', FFFD],
    ['a lone low surrogate', '\ude00', FFFD],
    ['a lone surrogate between letters', 'a\ud83db', `a${FFFD}b`],
    ['a pair in the wrong order', '\ude00\ud83d', `${FFFD}${FFFD}`],
    ['a high surrogate at the end', 'ok\ud83d', `ok${FFFD}`],
    ['a lone surrogate next to a real emoji', '\ud83d\ud83d\ude00', `${FFFD}😀`],
  ])('replaces %s with U+FFFD', (_label, input, expected) => {
    const cleaned = cleanText(input, 100);
    expect(cleaned).toBe(expected);
    expect(cleaned.isWellFormed()).toBe(true);
  });

  it('does not join the halves of a pair split by a NUL into an emoji', () => {
    const cleaned = cleanText('\ud83d\u0000\ude00', 100);
    expect(cleaned.isWellFormed()).toBe(true);
    expect(cleaned).not.toContain('\u0000');
  });

  it.each([
    ['emoji', 'Fire 🔥 family 👩‍👩‍👧 flag 🇫🇷'],
    ['right-to-left text and controls', 'مرحبا بالعالم \u202eevil.exe\u202c שלום'],
    ['markup and mentions', '<b>*bold*</b> _x_ `code` <@U0123> <!channel> &amp; [link](http://x) <script>'],
    ['whitespace and newlines', '  line one\n\tline two\r\n'],
  ])('keeps %s verbatim', (_label, input) => {
    expect(cleanText(input, 1_000)).toBe(input);
  });

  it('keeps a text of exactly maxLength whole, without an ellipsis', () => {
    expect(cleanText('abcd', 4)).toBe('abcd');
  });

  it('counts the length after removing NULs', () => {
    expect(cleanText('ab\u0000cd', 4)).toBe('abcd');
  });

  it('cuts a longer text to maxLength, ellipsis included', () => {
    expect(cleanText('abcdefgh', 4)).toBe('abc…');
  });

  it('does not split a surrogate pair at the cut', () => {
    // 'ab' + '😀' (two UTF-16 units) + 'cd': a cut at 3 falls inside the emoji.
    const cleaned = cleanText('ab😀cd', 3);
    expect(cleaned).toBe('ab…');
    expect(cleaned.isWellFormed()).toBe(true);
  });

  it.each(Array.from({ length: 20 }, (_, i) => i + 1))(
    'gives a well-formed prefix of at most %i units, ending in an ellipsis',
    (maxLength) => {
      const input = '😀a🔥bc💥💥d'.repeat(2);
      const cleaned = cleanText(input, maxLength);
      expect(cleaned.isWellFormed()).toBe(true);
      expect(cleaned.length).toBeLessThanOrEqual(maxLength);
      expect(cleaned.endsWith('…')).toBe(true);
      expect(input.startsWith(cleaned.slice(0, -1))).toBe(true);
      // Nothing more than the last code point that fits is given up for the ellipsis.
      expect(cleaned.length).toBeGreaterThanOrEqual(maxLength - 1);
    },
  );
});

describe('cleanJson', () => {
  it('cleans strings at any depth, in values and in keys', () => {
    const input = {
      'ke\u0000y': 'va\u0000lue',
      [`lone${'\ud83d'}`]: ['a\ud83d', { inner: 'x\u0000y', deeper: [[`${'\ude00'}z`]] }],
      plain: 'keep <b>me</b> 😀',
    };
    expect(cleanJson(input)).toEqual({
      key: 'value',
      [`lone${FFFD}`]: [`a${FFFD}`, { inner: 'xy', deeper: [[`${FFFD}z`]] }],
      plain: 'keep <b>me</b> 😀',
    });
  });

  it('cleans a bare string and strings in a top-level array', () => {
    expect(cleanJson('a\u0000\ud83d')).toBe(`a${FFFD}`);
    expect(cleanJson(['\u0000x', 'y\ude00'])).toEqual(['x', `y${FFFD}`]);
  });

  it('keeps numbers, booleans and null as they are', () => {
    expect(cleanJson({ n: 1.5, z: 0, t: true, f: false, nil: null, list: [1, null, false] })).toEqual({
      n: 1.5,
      z: 0,
      t: true,
      f: false,
      nil: null,
      list: [1, null, false],
    });
    expect(cleanJson(42)).toBe(42);
    expect(cleanJson(null)).toBeNull();
  });

  it('does not cap string values (only cleanText callers choose a length)', () => {
    const long = 'x'.repeat(5_000);
    expect(cleanJson({ long })).toEqual({ long });
  });

  it('caps very long keys', () => {
    const cleaned = cleanJson({ ['k'.repeat(5_000)]: 1 }) as Record<string, unknown>;
    const [key] = Object.keys(cleaned);
    expect(key?.length).toBeLessThanOrEqual(1_000);
    expect(key?.endsWith('…')).toBe(true);
  });

  it('leaves its input unchanged', () => {
    const input = { 'a\u0000': ['b\ud83d'] };
    const before = structuredClone(input);
    cleanJson(input);
    expect(input).toEqual(before);
  });

  it('gives a value that needs no cleaning back as it is, without a copy', () => {
    const input = { a: ['b', { c: 'd 😀', n: 1, nil: null }], ['k'.repeat(1_000)]: true };
    expect(cleanJson(input)).toBe(input);
  });

  it('copies a value with one string to clean however deep, and cleans it', () => {
    const input = { a: ['b', { c: 'd', e: [['f\u0000']] }], g: 'h' };
    const cleaned = cleanJson(input);
    expect(cleaned).not.toBe(input);
    expect(cleaned).toEqual({ a: ['b', { c: 'd', e: [['f']] }], g: 'h' });
  });

  it('gives output that survives a JSON round trip unchanged', () => {
    const cleaned = cleanJson({ a: ['\ud83d\u0000', { b: '\ude00' }] });
    expect(JSON.parse(JSON.stringify(cleaned))).toEqual(cleaned);
    expect(JSON.stringify(cleaned)).not.toMatch(/\\u0000|\\ud83d|\\ude00/i);
  });
});
