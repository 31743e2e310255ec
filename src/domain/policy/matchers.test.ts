import { describe, expect, it } from 'vitest';
import {
  compileEntityMatcher,
  compileLabelMatcher,
  matcherProblems,
  PATTERN_MAX_LENGTH,
  regexProblem,
} from './matchers.js';

describe('label patterns run on RE2', () => {
  it('keep Alertmanager semantics: anchored at both ends, a missing label reads as ""', () => {
    const test = compileLabelMatcher({ name: 'env', op: '=~', value: 'prod|staging' });
    expect(test({ env: 'staging' })).toBe(true);
    expect(test({ env: 'prod-eu' })).toBe(false);
    expect(test({ env: 'xprod' })).toBe(false);
    expect(compileLabelMatcher({ name: 'env', op: '=~', value: 'a|ab' })({ env: 'ab' })).toBe(true);
    expect(compileLabelMatcher({ name: 'team', op: '!~', value: '.+' })({})).toBe(true);
    // `$` is the end of the text, never before a final newline.
    expect(compileLabelMatcher({ name: 'env', op: '=~', value: 'dev$' })({ env: 'dev\n' })).toBe(false);
  });

  it('run the pattern that froze Vigil against a hostile label, at once', () => {
    // A backtracking engine would not return before the universe ends; RE2 is linear in the input.
    const test = compileLabelMatcher({ name: 'host', op: '=~', value: '(a|a)+$' });
    expect(test({ host: `${'a'.repeat(5_000)}!` })).toBe(false);
  });

  it.each([
    ['(a)\\1', /invalid escape sequence/],
    ['(?=a)a', /unsupported Perl syntax/],
    ['(?<=a)b', /invalid named capture/],
    ['(?!a)', /unsupported Perl syntax/],
    ['a)|(b', /unexpected \)|missing/],
    ['[', /missing closing/],
    ['x'.repeat(PATTERN_MAX_LENGTH + 1), /longer than 1000/],
  ])('refuse %s', (pattern, reason) => {
    expect(regexProblem(pattern)).toMatch(reason);
  });

  it('name the field of every refused pattern', () => {
    expect(
      matcherProblems(
        [
          { name: 'env', op: '=', value: '(a)\\1' },
          { name: 'host', op: '=~', value: '(?=x)' },
        ],
        [{ kind: 'user', key: 'x'.repeat(PATTERN_MAX_LENGTH + 1) }],
        'conditions.',
      ).map((problem) => problem.field),
    ).toEqual(['conditions.labels[1].value', 'conditions.entities[0].key']);
  });

  it('let a stored pattern RE2 cannot run match nothing, for =~ and !~ alike', () => {
    expect(compileLabelMatcher({ name: 'env', op: '=~', value: '(a)\\1' })({ env: 'aa' })).toBe(false);
    expect(compileLabelMatcher({ name: 'env', op: '!~', value: '(a)\\1' })({ env: 'b' })).toBe(false);
  });
});

describe('entity globs', () => {
  const user = (key: string) => [{ kind: 'user' as const, key, displayName: key, roles: [], attributes: {} }];

  it('match whole keys without case, every character but * literal', () => {
    const test = compileEntityMatcher({ kind: 'user', key: '*@contoso.com' });
    expect(test(user('cfo@contoso.com'))).toBe(true);
    expect(test(user('CFO@Contoso.COM'))).toBe(true);
    expect(test(user('cfo@contosoxcom'))).toBe(false);
    expect(test(user('cfo@contoso.com.evil'))).toBe(false);
    expect(compileEntityMatcher({ kind: 'user', key: 'a(b)[c]+' })(user('a(b)[c]+'))).toBe(true);
  });
});
