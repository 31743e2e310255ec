import { describe, expect, it } from 'vitest';
import { aDraft, anEntity, at } from '../../../test/builders/alert.js';
import { SEVERITIES, type Severity } from './alert.js';
import { groupOccurrences, occurrenceUpdate } from './dedupe.js';

const user = anEntity({ kind: 'user', key: 'alice@example.com', displayName: 'Alice' });
const device = anEntity({ kind: 'device', key: 'dev-1', displayName: 'LAPTOP-1' });
const ip = anEntity({ kind: 'ip', key: '203.0.113.7', displayName: '203.0.113.7' });
const file = anEntity({ kind: 'file', key: 'sha256:abc', displayName: 'evil.exe' });

/** The higher of two severities, by their order in SEVERITIES (lowest first). */
const higher = (a: Severity, b: Severity): Severity =>
  SEVERITIES.indexOf(a) >= SEVERITIES.indexOf(b) ? a : b;

describe('groupOccurrences', () => {
  it('returns nothing for no drafts', () => {
    expect(groupOccurrences([])).toEqual([]);
  });

  it('keeps a lone draft as a group of one', () => {
    const draft = aDraft({ occurredAt: at(5_000) });
    expect(groupOccurrences([draft])).toEqual([
      { draft, count: 1, firstSeenAt: at(5_000), lastSeenAt: at(5_000), members: [0] },
    ]);
  });

  it('folds same fingerprints in order of first arrival, with counts and member indexes', () => {
    const groups = groupOccurrences([
      aDraft({ fingerprint: 'a' }),
      aDraft({ fingerprint: 'b' }),
      aDraft({ fingerprint: 'a' }),
      aDraft({ fingerprint: 'c' }),
      aDraft({ fingerprint: 'b' }),
      aDraft({ fingerprint: 'a' }),
    ]);
    expect(groups.map((g) => g.draft.fingerprint)).toEqual(['a', 'b', 'c']);
    expect(groups.map((g) => g.count)).toEqual([3, 2, 1]);
    expect(groups.map((g) => g.members)).toEqual([[0, 2, 5], [1, 4], [3]]);
  });

  it('lets the first draft speak for the group', () => {
    const [group] = groupOccurrences([
      aDraft({ title: 'first', description: 'one', sourceId: 's1', labels: { n: '1' } }),
      aDraft({ title: 'second', description: 'two', sourceId: 's2', labels: { n: '2' } }),
    ]);
    expect(group?.draft.title).toBe('first');
    expect(group?.draft.description).toBe('one');
    expect(group?.draft.sourceId).toBe('s1');
    expect(group?.draft.labels).toEqual({ n: '1' });
  });

  it('spans the earliest to the latest occurrence, whatever the arrival order', () => {
    const [group] = groupOccurrences([
      aDraft({ occurredAt: at(5_000) }),
      aDraft({ occurredAt: at(1_000) }),
      aDraft({ occurredAt: at(9_000) }),
      aDraft({ occurredAt: at(3_000) }),
    ]);
    expect(group?.firstSeenAt).toEqual(at(1_000));
    expect(group?.lastSeenAt).toEqual(at(9_000));
  });

  it('keeps the span of each fingerprint apart', () => {
    const groups = groupOccurrences([
      aDraft({ fingerprint: 'a', occurredAt: at(2_000) }),
      aDraft({ fingerprint: 'b', occurredAt: at(9_000) }),
      aDraft({ fingerprint: 'a', occurredAt: at(4_000) }),
      aDraft({ fingerprint: 'b', occurredAt: at(1_000) }),
    ]);
    expect(groups.map((g) => [g.firstSeenAt, g.lastSeenAt])).toEqual([
      [at(2_000), at(4_000)],
      [at(1_000), at(9_000)],
    ]);
  });

  it('only raises the severity', () => {
    const severities = (list: Severity[]) =>
      groupOccurrences(list.map((severity) => aDraft({ severity })))[0]?.draft.severity;
    expect(severities(['low', 'high', 'medium'])).toBe('high');
    expect(severities(['critical', 'informational'])).toBe('critical');
    expect(severities(['informational', 'low'])).toBe('low');
    expect(severities(['medium', 'medium'])).toBe('medium');
  });

  it.each(SEVERITIES.flatMap((a) => SEVERITIES.map((b) => [a, b] as const)))(
    'takes the higher of %s and %s',
    (a, b) => {
      const [group] = groupOccurrences([aDraft({ severity: a }), aDraft({ severity: b })]);
      expect(group?.draft.severity).toBe(higher(a, b));
    },
  );

  it('unites entities in order of first appearance, without duplicates', () => {
    const [group] = groupOccurrences([
      aDraft({ entities: [user, device] }),
      aDraft({ entities: [device, ip] }),
      aDraft({ entities: [] }),
      aDraft({ entities: [user, ip, file] }),
    ]);
    expect(group?.draft.entities).toEqual([user, device, ip, file]);
  });

  it('knows entities by kind and key: the first seen wins, the same key of another kind is another entity', () => {
    const renamed = { ...user, displayName: 'Alice (renamed)' };
    const sameKeyOtherKind = anEntity({ kind: 'mailbox', key: user.key, displayName: 'Alice mailbox' });
    const [group] = groupOccurrences([
      aDraft({ entities: [user] }),
      aDraft({ entities: [renamed, sameKeyOtherKind] }),
    ]);
    expect(group?.draft.entities).toEqual([user, sameKeyOtherKind]);
  });

  it('does not merge entities across fingerprints', () => {
    const groups = groupOccurrences([
      aDraft({ fingerprint: 'a', entities: [user] }),
      aDraft({ fingerprint: 'b', entities: [ip] }),
    ]);
    expect(groups.map((g) => g.draft.entities)).toEqual([[user], [ip]]);
  });

  it('leaves the input drafts as they were', () => {
    const drafts = [
      aDraft({ severity: 'low', entities: [user] }),
      aDraft({ severity: 'critical', entities: [ip], occurredAt: at(-1_000) }),
    ];
    const before = structuredClone(drafts);
    groupOccurrences(drafts);
    expect(drafts).toEqual(before);
  });
});

describe('occurrenceUpdate', () => {
  const current = { occurrenceCount: 3, lastSeenAt: at(10_000), severity: 'medium' as Severity };

  it('adds the group count and moves last seen forward', () => {
    const update = occurrenceUpdate(current, {
      count: 4,
      lastSeenAt: at(20_000),
      draft: aDraft({ severity: 'medium' }),
    });
    expect(update).toEqual({ occurrenceCount: 7, lastSeenAt: at(20_000), severity: 'medium' });
  });

  it('never moves last seen backwards', () => {
    const update = occurrenceUpdate(current, { count: 1, lastSeenAt: at(5_000), draft: aDraft() });
    expect(update.lastSeenAt).toEqual(at(10_000));
    expect(update.occurrenceCount).toBe(4);
  });

  it.each(SEVERITIES)('only raises the severity (group at %s, alert at medium)', (severity) => {
    const update = occurrenceUpdate(current, { count: 1, lastSeenAt: at(0), draft: aDraft({ severity }) });
    expect(update.severity).toBe(higher('medium', severity));
  });

  it('raises a low alert to critical and keeps a critical alert critical', () => {
    const group = (severity: Severity) => ({ count: 1, lastSeenAt: at(0), draft: aDraft({ severity }) });
    expect(occurrenceUpdate({ ...current, severity: 'low' }, group('critical')).severity).toBe('critical');
    expect(occurrenceUpdate({ ...current, severity: 'critical' }, group('informational')).severity).toBe(
      'critical',
    );
  });

  it('agrees with groupOccurrences on a batch', () => {
    const [group] = groupOccurrences([
      aDraft({ severity: 'low', occurredAt: at(30_000) }),
      aDraft({ severity: 'high', occurredAt: at(15_000) }),
    ]);
    if (group === undefined) expect.fail('expected one group');
    expect(occurrenceUpdate(current, group)).toEqual({
      occurrenceCount: 5,
      lastSeenAt: at(30_000),
      severity: 'high',
    });
  });
});
