import { describe, expect, it } from 'vitest';
import { jsonNestingExceeds } from './json-depth.js';

describe('jsonNestingExceeds', () => {
  it('counts arrays and objects opened inside each other', () => {
    expect(jsonNestingExceeds(`${'['.repeat(5)}${']'.repeat(5)}`, 5)).toBe(false);
    expect(jsonNestingExceeds(`${'['.repeat(6)}${']'.repeat(6)}`, 5)).toBe(true);
    expect(jsonNestingExceeds(`${'{"a":'.repeat(6)}1${'}'.repeat(6)}`, 5)).toBe(true);
  });

  it('counts siblings once, not their sum', () => {
    expect(jsonNestingExceeds(JSON.stringify(Array.from({ length: 50 }, () => [[1]])), 3)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ title: `${'['.repeat(50)} "quoted \\" [[[`, labels: { a: '{{{{' } });
    expect(jsonNestingExceeds(text, 3)).toBe(false);
  });
});
