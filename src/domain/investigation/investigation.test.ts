import { describe, expect, it } from 'vitest';
import {
  deriveStatus,
  INVESTIGATION_STATUSES,
  INVESTIGATION_TRANSITIONS,
  type InvestigationEntity,
  type InvestigationStatus,
  isOpenInvestigation,
  mergeVerdict,
  moveInvestigation,
  OPEN_INVESTIGATION_STATUSES,
  type OutcomeInput,
  terminate,
  worseVerdict,
} from './investigation.js';

describe('investigation transitions', () => {
  const pairs = INVESTIGATION_STATUSES.flatMap((from) =>
    INVESTIGATION_STATUSES.map((to) => [from, to] as const),
  );
  it.each(pairs)('%s -> %s follows the table', (from, to) => {
    const allowed = (INVESTIGATION_TRANSITIONS[from] as readonly InvestigationStatus[]).includes(to);
    const result = moveInvestigation(from, to);
    expect(result.ok).toBe(allowed || from === to);
    if (!result.ok) expect(result.error.code).toBe('investigation.transition_not_allowed');
  });

  it('treats only queued, running and pending approval as open', () => {
    expect(INVESTIGATION_STATUSES.filter(isOpenInvestigation)).toEqual([
      'queued',
      'running',
      'pending_approval',
    ]);
  });
});

describe('deriveStatus truth table', () => {
  const base: OutcomeInput = {
    stepsComplete: true,
    stepCount: 4,
    failedSteps: 0,
    threatsFound: true,
    actionStatuses: [],
  };
  const cases: [string, Partial<OutcomeInput>, InvestigationStatus][] = [
    ['steps still to run', { stepsComplete: false, actionStatuses: ['done'] }, 'running'],
    ['every step failed', { failedSteps: 4, threatsFound: false }, 'failed'],
    ['some steps failed, nothing found', { failedSteps: 2, threatsFound: false }, 'no_threats_found'],
    ['no threat, no action', { threatsFound: false }, 'no_threats_found'],
    ['threat, recommendations only', { actionStatuses: [] }, 'partially_remediated'],
    ['an action waits', { actionStatuses: ['done', 'pending_approval'] }, 'pending_approval'],
    ['an action approved', { actionStatuses: ['approved', 'done'] }, 'running'],
    ['an action running', { actionStatuses: ['running'] }, 'running'],
    ['all done', { actionStatuses: ['done', 'done'] }, 'remediated'],
    ['some done, some rejected', { actionStatuses: ['done', 'rejected'] }, 'partially_remediated'],
    ['some done, some failed', { actionStatuses: ['done', 'failed'] }, 'partially_remediated'],
    ['none done, one failed', { actionStatuses: ['failed', 'rejected'] }, 'failed'],
    ['all rejected', { actionStatuses: ['rejected', 'rejected'] }, 'partially_remediated'],
    ['the only action failed', { actionStatuses: ['failed'] }, 'failed'],
    ['one failed, one still waits', { actionStatuses: ['failed', 'pending_approval'] }, 'pending_approval'],
    ['one failed, one cancelled', { actionStatuses: ['failed', 'cancelled'] }, 'failed'],
    [
      'pending beats failed steps only when some step worked',
      { failedSteps: 4, actionStatuses: ['pending_approval'] },
      'failed',
    ],
    ['no steps at all, nothing found', { stepCount: 0, threatsFound: false }, 'no_threats_found'],
    ['a policy step without target, nothing else', { stepCount: 0, untargetedSteps: 1 }, 'failed'],
    [
      'a policy step without target, the others done',
      { stepCount: 0, untargetedSteps: 1, actionStatuses: ['done'] },
      'partially_remediated',
    ],
  ];
  it.each(cases)('%s', (_name, input, expected) => {
    expect(deriveStatus({ ...base, ...input })).toBe(expected);
  });
});

describe('verdicts', () => {
  const entity: InvestigationEntity = {
    kind: 'user',
    key: 'adele@contoso.com',
    displayName: 'Adele',
    verdict: 'unknown',
    why: '',
    attributes: {},
  };

  it('keeps the worse verdict; clean outranks unknown', () => {
    expect(worseVerdict('clean', 'unknown')).toBe('clean');
    expect(worseVerdict('suspicious', 'malicious')).toBe('malicious');
    expect(worseVerdict('malicious', 'clean')).toBe('malicious');
  });

  it('merges a verdict with its reason and keeps the earlier reason for an equal verdict', () => {
    const once = mergeVerdict(entity, {
      kind: 'user',
      key: entity.key,
      verdict: 'suspicious',
      why: 'seen on watchlist',
    });
    expect(once).toMatchObject({ verdict: 'suspicious', why: 'seen on watchlist' });
    const twice = mergeVerdict(once, { kind: 'user', key: entity.key, verdict: 'suspicious', why: 'other' });
    expect(twice.why).toBe('seen on watchlist');
    const worse = mergeVerdict(twice, {
      kind: 'user',
      key: entity.key,
      verdict: 'malicious',
      why: 'bad',
      attributes: { a: 1 },
    });
    expect(worse).toMatchObject({ verdict: 'malicious', why: 'bad', attributes: { a: 1 } });
    expect(mergeVerdict(worse, { kind: 'user', key: entity.key, verdict: 'clean', why: 'x' }).verdict).toBe(
      'malicious',
    );
  });
});

describe('terminate', () => {
  it('lets an approver stop an open investigation, once', () => {
    for (const status of OPEN_INVESTIGATION_STATUSES) {
      expect(terminate(status, 'approver')).toEqual({ ok: true, value: { changed: true } });
    }
    expect(terminate('terminated', 'admin')).toEqual({ ok: true, value: { changed: false } });
  });

  it('refuses responders, and investigations that have finished', () => {
    expect(terminate('running', 'responder')).toMatchObject({ ok: false, error: { code: 'auth.forbidden' } });
    for (const status of ['remediated', 'partially_remediated', 'no_threats_found', 'failed'] as const) {
      expect(terminate(status, 'admin')).toMatchObject({
        ok: false,
        error: { code: 'investigation.transition_not_allowed' },
      });
    }
  });
});
