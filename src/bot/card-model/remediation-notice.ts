import {
  EXCEPTION_REASON_LABELS,
  EXCEPTION_REASONS,
  noticeText,
  type RemediationNotice,
  type RemediationNoticeKind,
  type RemediationStatus,
} from '../../domain/index.js';
import { CARD_ACTIONS } from '../card-actions.js';
import type { CardButton } from './types.js';
import { BUTTON_WORDS } from './vocabulary.js';

/** One input of a form a button opens (a Slack modal, a Teams Action.ShowCard). */
export interface FormField {
  readonly id: string;
  readonly label: string;
  readonly kind: 'text' | 'longText' | 'choice' | 'date';
  readonly required: boolean;
  readonly maxLength?: number;
  readonly choices?: readonly { readonly value: string; readonly label: string }[];
}

export interface CardForm {
  readonly title: string;
  readonly submitWord: string;
  readonly fields: readonly FormField[];
}

/** A button that asks for a few inputs before it acts. */
export interface FormButton extends CardButton {
  readonly form: CardForm;
}

export interface RemediationNoticeModel {
  readonly remediationId: string;
  readonly text: string;
  /** Complete and File exception while the remediation is open; none on other notices. */
  readonly actions: readonly FormButton[];
}

/** The form inputs' IDs: the Slack blocks' and the Teams inputs' (merged into Action.Execute data). */
export const REMEDIATION_FIELDS = {
  comment: 'comment',
  reason: 'reason',
  expires: 'expires',
  justification: 'justification',
} as const;

/** A remediation still to be done: Complete and File exception apply to it. */
export const isOpenRemediation = (status: RemediationStatus): boolean =>
  status === 'open' || status === 'in_progress' || status === 'overdue';

/** Notices about a remediation still to be done; the others (completed, excepted, failed) offer nothing. */
const OPEN_NOTICES: ReadonlySet<RemediationNoticeKind> = new Set(['ticket_opened', 'reminder', 'overdue']);

export function remediationActions(remediationId: string, number: string): FormButton[] {
  const target = { kind: 'remediation', remediationId } as const;
  return [
    {
      id: CARD_ACTIONS.completeRemediation,
      word: BUTTON_WORDS.completeRemediation,
      emphasis: 'primary',
      target,
      form: {
        title: `Complete R-${number}`,
        submitWord: BUTTON_WORDS.completeRemediation,
        fields: [
          {
            id: REMEDIATION_FIELDS.comment,
            label: 'How was it done? (optional)',
            kind: 'longText',
            required: false,
            maxLength: 2000,
          },
        ],
      },
    },
    {
      id: CARD_ACTIONS.fileException,
      word: BUTTON_WORDS.fileException,
      emphasis: null,
      target,
      form: {
        title: `Exception for R-${number}`,
        submitWord: BUTTON_WORDS.fileException,
        fields: [
          {
            id: REMEDIATION_FIELDS.reason,
            label: 'Reason',
            kind: 'choice',
            required: true,
            choices: EXCEPTION_REASONS.map((value) => ({ value, label: EXCEPTION_REASON_LABELS[value] })),
          },
          {
            id: REMEDIATION_FIELDS.expires,
            label: 'Until (end of that day, UTC)',
            kind: 'date',
            required: true,
          },
          {
            id: REMEDIATION_FIELDS.justification,
            label: 'Justification',
            kind: 'longText',
            required: true,
            maxLength: 2000,
          },
        ],
      },
    },
  ];
}

/** A remediation notice as both platforms show it: the sentence, and what can be done about it. */
export function remediationNoticeModel(
  notice: RemediationNotice,
  consoleUrl: string | null,
): RemediationNoticeModel {
  return {
    remediationId: notice.remediation.id,
    text: noticeText(notice, consoleUrl),
    // Read from the remediation as it is now: a notice shown after completion offers nothing.
    actions:
      OPEN_NOTICES.has(notice.kind) && isOpenRemediation(notice.remediation.status)
        ? remediationActions(notice.remediation.id, notice.remediation.number)
        : [],
  };
}
