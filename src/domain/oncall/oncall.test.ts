import { describe, expect, it } from 'vitest';
import { decideStep, type EscalationPolicySpec, levelOf, nextStepDue, totalSteps } from './escalation.js';
import { onCallAt, onCallNowAndNext, type Schedule, scheduleProblem } from './schedule.js';

const ann = { name: 'Ann', slack: 'U0ANN' };
const bob = { name: 'Bob', slack: 'U0BOB' };
const cy = { name: 'Cy', teams: 'aad-cy' };

const paris: Schedule = {
  name: 'secops',
  timeZone: 'Europe/Paris',
  rotations: [
    {
      name: 'primary',
      handoff: 'daily',
      handoffTime: '09:00',
      startDate: '2026-03-27',
      people: [ann, bob, cy],
    },
  ],
};

describe('rotations', () => {
  it('hand off at 09:00 Paris time across the spring-forward change (29 March 2026)', () => {
    // 27 March: CET (UTC+1), so 09:00 local is 08:00Z; from 29 March CEST (UTC+2), 07:00Z.
    expect(onCallAt(paris, [], new Date('2026-03-27T08:00:00Z')).people).toEqual([ann]);
    expect(onCallAt(paris, [], new Date('2026-03-28T07:59:59Z')).people).toEqual([ann]);
    expect(onCallAt(paris, [], new Date('2026-03-28T08:00:00Z')).people).toEqual([bob]);
    // The 28th's shift is 23 hours long: Cy takes over at 09:00 CEST = 07:00Z, not 08:00Z.
    expect(onCallAt(paris, [], new Date('2026-03-29T06:59:59Z')).people).toEqual([bob]);
    const sunday = onCallAt(paris, [], new Date('2026-03-29T07:00:00Z'));
    expect(sunday.people).toEqual([cy]);
    expect(sunday.from.toISOString()).toBe('2026-03-29T07:00:00.000Z');
    expect(sunday.until?.toISOString()).toBe('2026-03-30T07:00:00.000Z');
    // Back to Ann, still at 09:00 local.
    expect(onCallAt(paris, [], new Date('2026-03-30T07:00:00Z')).people).toEqual([ann]);
  });

  it('hand off weekly at the local time across the New York fall-back change (1 November 2026)', () => {
    const ny: Schedule = {
      name: 'weekly',
      timeZone: 'America/New_York',
      rotations: [
        { name: 'w', handoff: 'weekly', handoffTime: '10:00', startDate: '2026-10-26', people: [ann, bob] },
      ],
    };
    // 26 Oct EDT: 10:00 = 14:00Z; 2 Nov EST: 10:00 = 15:00Z.
    expect(onCallAt(ny, [], new Date('2026-11-02T14:30:00Z')).people).toEqual([ann]);
    const next = onCallNowAndNext(ny, [], new Date('2026-10-30T00:00:00Z'));
    expect(next.now.people).toEqual([ann]);
    expect(next.now.until?.toISOString()).toBe('2026-11-02T15:00:00.000Z');
    expect(next.next?.people).toEqual([bob]);
    expect(onCallAt(ny, [], new Date('2026-11-09T14:59:00Z')).people).toEqual([bob]);
    expect(onCallAt(ny, [], new Date('2026-11-09T15:00:00Z')).people).toEqual([ann]);
  });

  it('lets an override replace the rotation for its window', () => {
    const override = {
      person: cy,
      startsAt: new Date('2026-03-27T12:00:00Z'),
      endsAt: new Date('2026-03-27T18:00:00Z'),
    };
    expect(onCallAt(paris, [override], new Date('2026-03-27T12:00:00Z')).people).toEqual([cy]);
    const before = onCallNowAndNext(paris, [override], new Date('2026-03-27T10:00:00Z'));
    expect(before.now.people).toEqual([ann]);
    expect(before.now.until?.toISOString()).toBe('2026-03-27T12:00:00.000Z');
    expect(before.next?.people).toEqual([cy]);
    expect(onCallAt(paris, [override], new Date('2026-03-27T18:00:00Z')).people).toEqual([ann]);
  });

  it('has nobody before the rotation starts, and refuses unknown zones', () => {
    expect(onCallAt(paris, [], new Date('2026-03-01T00:00:00Z')).people).toEqual([]);
    expect(scheduleProblem({ ...paris, timeZone: 'Mars/Olympus' })).toMatch(/IANA/);
    expect(scheduleProblem(paris)).toBeNull();
  });
});

describe('escalation steps', () => {
  const policy: EscalationPolicySpec = {
    name: 'sec',
    levels: [
      { targets: [{ type: 'person', person: ann }], waitMinutes: 5 },
      { targets: [{ type: 'person', person: bob }], waitMinutes: 10 },
    ],
    repeat: 1,
  };

  it('walks every level, repeat + 1 times, waiting each level before the next', () => {
    expect(totalSteps(policy)).toBe(4);
    expect(levelOf(policy, 2)?.index).toBe(0);
    const t = new Date('2026-11-23T12:00:00Z');
    expect(nextStepDue(policy, 0, t)).toEqual({ stepNo: 1, dueAt: new Date('2026-11-23T12:05:00Z') });
    expect(nextStepDue(policy, 1, t)?.dueAt).toEqual(new Date('2026-11-23T12:10:00Z'));
    expect(nextStepDue(policy, 3, t)).toBeNull();
  });

  it('stops on acknowledgement or when the levels run out', () => {
    const page = { state: 'open' as const, policy };
    expect(decideStep(page, 'new', 1)).toMatchObject({ kind: 'notify', levelIndex: 1 });
    expect(decideStep(page, 'in_progress', 1)).toMatchObject({ kind: 'stop', state: 'acknowledged' });
    expect(decideStep(page, 'resolved', 1)).toMatchObject({ kind: 'stop', state: 'acknowledged' });
    expect(decideStep(page, 'new', 4)).toMatchObject({ kind: 'stop', state: 'exhausted' });
    expect(decideStep({ ...page, state: 'acknowledged' }, 'new', 1)).toMatchObject({ kind: 'stop' });
  });
});
