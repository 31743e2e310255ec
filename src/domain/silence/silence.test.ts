import { describe, expect, it } from 'vitest';
import type { PolicySubject } from '../policy/policy.evaluate.js';
import { compileSilence, type Silence, silenceFor, silenceProblem } from './silence.js';

const start = new Date('2026-11-23T10:00:00Z');
const end = new Date('2026-11-23T12:00:00Z');
const aSilence = (overrides: Partial<Silence> = {}): Silence => ({
  id: 's1',
  labels: [{ name: 'env', op: '=', value: 'dev' }],
  entities: [],
  startsAt: start,
  endsAt: end,
  createdBy: { kind: 'system' },
  comment: 'maintenance',
  ...overrides,
});
const subject: PolicySubject = {
  source: 'alertmanager',
  severity: 'high',
  category: null,
  labels: { env: 'dev' },
  entities: [],
};

describe('silences', () => {
  it('mute matching alerts only while active (end exclusive)', () => {
    const silences = [compileSilence(aSilence())];
    expect(silenceFor(silences, subject, new Date('2026-11-23T09:59:59Z'))).toBeNull();
    expect(silenceFor(silences, subject, start)?.id).toBe('s1');
    expect(silenceFor(silences, subject, end)).toBeNull();
    expect(silenceFor(silences, { ...subject, labels: { env: 'prod' } }, start)).toBeNull();
  });

  it('match entities too', () => {
    const silences = [compileSilence(aSilence({ labels: [], entities: [{ kind: 'device', key: 'lab-*' }] }))];
    const device = {
      kind: 'device' as const,
      key: 'lab-42',
      displayName: 'lab-42',
      roles: [],
      attributes: {},
    };
    expect(silenceFor(silences, { ...subject, entities: [device] }, start)?.id).toBe('s1');
    expect(silenceFor(silences, subject, start)).toBeNull();
  });

  it('refuse a silence without matchers or ending before it starts', () => {
    expect(silenceProblem(aSilence({ labels: [] }))).toMatch(/at least one/);
    expect(silenceProblem(aSilence({ endsAt: start }))).toMatch(/end after/);
    expect(silenceProblem(aSilence())).toBeNull();
  });
});
