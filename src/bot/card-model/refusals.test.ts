import { describe, expect, it } from 'vitest';
import { aUser } from '../../../test/builders/alert.js';
import {
  AlertErrorCode,
  ApprovalErrorCode,
  REMEDIATION_NOTICE_KINDS,
  type RemediationNotice,
} from '../../domain/index.js';
import { CARD_ACTIONS } from '../card-actions.js';
import { remediationFormCommand } from '../remediation-commands.js';
import { GONE, incidentPartlyResolved, refusal, remediationNoticeModel } from './index.js';

describe('refusal: one table of words for a refused click', () => {
  it('says what each approval refusal means, with the particulars', () => {
    const said = (code: string) => refusal({ code, message: 'Details.' }, 'decide');
    expect(said(ApprovalErrorCode.NotApprover)).toEqual({
      tone: 'forbidden',
      text: 'Not decided: you are not an approver. Details.',
    });
    expect(said(ApprovalErrorCode.RequesterCannotApprove)).toEqual({
      tone: 'forbidden',
      text: 'Not approved: the requester cannot approve. Details.',
    });
    expect(said(ApprovalErrorCode.NeedsSecondApprover)).toEqual({
      tone: 'progress',
      text: 'Approval recorded; a second approver is needed. Details.',
    });
    expect(said(ApprovalErrorCode.AlreadyDecided)).toEqual({
      tone: 'info',
      text: 'Not changed: already decided. Details.',
    });
    expect(said(ApprovalErrorCode.ReasonRequired).text).toMatch(/^Not rejected: a reason is needed\./);
  });

  it('says a clicked thing is gone; a typed reference keeps the domain words', () => {
    expect(refusal({ code: AlertErrorCode.NotFound, message: 'x' }, 'change')).toEqual({
      tone: 'warning',
      text: GONE.alert,
    });
    expect(refusal({ code: ApprovalErrorCode.NotFound, message: 'x' }, 'decide').text).toBe(GONE.action);
    expect(refusal({ code: 'remediation.not_found', message: 'x' }, 'complete').text).toBe(GONE.remediation);
    expect(refusal({ code: 'remediation.not_found', message: 'No remediation R-9.' })).toEqual({
      tone: 'warning',
      text: 'No remediation R-9.',
    });
  });

  it('opens any other refusal with what the click tried; a role refusal is forbidden', () => {
    const forbidden = { code: 'auth.forbidden', message: 'You need the responder role.' };
    expect(refusal(forbidden, 'change')).toEqual({
      tone: 'forbidden',
      text: 'Not changed: You need the responder role.',
    });
    expect(refusal(forbidden, 'start').text).toBe('Not started: You need the responder role.');
    expect(refusal(forbidden, 'resolve').text).toBe('Not resolved: You need the responder role.');
    expect(refusal(forbidden, 'complete').text).toBe('Not completed: You need the responder role.');
    expect(refusal(forbidden, 'except').text).toBe('No exception filed: You need the responder role.');
    expect(refusal({ code: 'person.unknown', message: 'Who?' }).tone).toBe('forbidden');
    expect(refusal({ code: AlertErrorCode.VersionConflict, message: 'It changed.' })).toEqual({
      tone: 'warning',
      text: 'It changed.',
    });
    expect(incidentPartlyResolved(2, 1, 'stale')).toEqual({
      tone: 'warning',
      text: '2 alert(s) resolved; 1 not: stale',
    });
  });
});

describe('remediation notices', () => {
  const notice = (
    kind: RemediationNotice['kind'],
    status: RemediationNotice['remediation']['status'] = 'open',
  ): RemediationNotice => ({
    kind,
    remediation: { id: 'rem-1', number: '7', status } as RemediationNotice['remediation'],
    requester: aUser(),
    alertId: null,
    message: 'Something happened.',
  });

  it('offer Complete and File exception while the remediation is open, and nothing after', () => {
    const offered = REMEDIATION_NOTICE_KINDS.filter(
      (kind) => remediationNoticeModel(notice(kind), null).actions.length > 0,
    );
    expect(offered).toEqual(['ticket_opened', 'reminder', 'overdue']);
    // Shown again once the remediation is done (its earlier notices are updated), none offers them.
    for (const status of ['completed', 'exception'] as const)
      expect(
        REMEDIATION_NOTICE_KINDS.filter(
          (kind) => remediationNoticeModel(notice(kind, status), null).actions.length > 0,
        ),
      ).toEqual([]);
    expect(remediationNoticeModel(notice('overdue', 'overdue'), null).actions).toHaveLength(2);
    const model = remediationNoticeModel(notice('reminder'), 'https://vigil.example/console/#/remediations');
    expect(model.text).toBe(
      'Remediation R-7: Something happened. (https://vigil.example/console/#/remediations)',
    );
    expect(model.actions.map((action) => [action.id, action.word, action.target])).toEqual([
      [CARD_ACTIONS.completeRemediation, 'Complete', { kind: 'remediation', remediationId: 'rem-1' }],
      [CARD_ACTIONS.fileException, 'File exception', { kind: 'remediation', remediationId: 'rem-1' }],
    ]);
    expect(model.actions[1]?.form.fields.map((field) => [field.id, field.kind, field.required])).toEqual([
      ['reason', 'choice', true],
      ['expires', 'date', true],
      ['justification', 'longText', true],
    ]);
  });

  it("turn their forms into the typed commands, with the typed commands' checks", () => {
    expect(
      remediationFormCommand(CARD_ACTIONS.completeRemediation, 'rem-1', { comment: ' Intune ' }),
    ).toEqual({
      ok: true,
      value: { type: 'remediation.complete', ref: 'rem-1', comment: 'Intune' },
    });
    expect(remediationFormCommand(CARD_ACTIONS.completeRemediation, 'rem-1', {})).toEqual({
      ok: true,
      value: { type: 'remediation.complete', ref: 'rem-1' },
    });
    expect(
      remediationFormCommand(CARD_ACTIONS.fileException, 'rem-1', {
        reason: 'compensating_control',
        expires: '2099-01-31',
        justification: 'EDR blocks it',
      }),
    ).toEqual({
      ok: true,
      value: {
        type: 'remediation.exception',
        ref: 'rem-1',
        reason: 'compensating_control',
        expiresAt: new Date('2099-01-31T23:59:59.999Z'),
        justification: 'EDR blocks it',
      },
    });
    const missing = remediationFormCommand(CARD_ACTIONS.fileException, 'rem-1', {
      reason: 'compensating_control',
      expires: null,
      justification: 'x',
    });
    expect(missing).toMatchObject({ ok: false, error: { code: 'command.invalid' } });
  });
});
