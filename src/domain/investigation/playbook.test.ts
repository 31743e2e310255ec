import { describe, expect, it } from 'vitest';
import { DEFAULT_PLAYBOOK, parsePlaybook, stepsFor } from './playbook.js';

describe('playbooks as data', () => {
  it('accepts the default playbook', () => {
    expect(parsePlaybook(DEFAULT_PLAYBOOK).ok).toBe(true);
  });

  it('picks the steps of the alert kind, else default', () => {
    const parsed = parsePlaybook({
      name: 'Malware',
      steps: {
        default: [{ key: 'a', provider: 'watchlist' }],
        malware: [
          { key: 'b', provider: 'entity_history', params: { days: 7 } },
          { key: 'c', provider: 'http', params: { url: 'http://x/{key}' } },
        ],
      },
    });
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(stepsFor(parsed.value, 'malware').map((s) => s.key)).toEqual(['b', 'c']);
    expect(stepsFor(parsed.value, 'phish').map((s) => s.key)).toEqual(['a']);
    expect(stepsFor(parsed.value, null).map((s) => s.key)).toEqual(['a']);
    expect(stepsFor(parsed.value, 'malware')[0]?.params).toEqual({ days: 7 });
  });

  it.each([
    ['no default list', { name: 'x', steps: { malware: [{ key: 'a', provider: 'watchlist' }] } }, 'default'],
    ['unknown provider', { name: 'x', steps: { default: [{ key: 'a', provider: 'magic' }] } }, 'provider'],
    [
      'duplicate keys',
      {
        name: 'x',
        steps: {
          default: [
            { key: 'a', provider: 'watchlist' },
            { key: 'a', provider: 'http' },
          ],
        },
      },
      'unique',
    ],
    ['bad key', { name: 'x', steps: { default: [{ key: 'A B', provider: 'watchlist' }] } }, 'key'],
  ])('refuses %s', (_name, input, mentions) => {
    const parsed = parsePlaybook(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error.code).toBe('investigation.invalid_playbook');
      expect(parsed.error.message).toContain(mentions);
    }
  });
});
