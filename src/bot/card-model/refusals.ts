import { AlertErrorCode, ApprovalErrorCode, RemediationErrorCode } from '../../domain/index.js';

/**
 * What the person who clicked is told when a click did not do what it says, one table for every
 * platform: Slack shows it to them alone (an ephemeral message, the tone as an emoji), Teams above
 * the refreshed card (the tone as the banner's style).
 */
export type RefusalTone = 'forbidden' | 'warning' | 'progress' | 'info';

export interface Refusal {
  readonly tone: RefusalTone;
  readonly text: string;
}

/** What the refused click tried: the words its refusal starts with. */
const NOT_DONE = {
  change: 'Not changed',
  start: 'Not started',
  decide: 'Not changed',
  resolve: 'Not resolved',
  complete: 'Not completed',
  except: 'No exception filed',
} as const;
export type Attempt = keyof typeof NOT_DONE;

/** What a click finds when the thing it names is gone. */
export const GONE = {
  alert: 'This alert no longer exists in Vigil.',
  action: 'This action no longer exists in Vigil.',
  incident: 'This incident no longer exists in Vigil.',
  remediation: 'This remediation no longer exists in Vigil.',
} as const;

/** A button whose value names nothing Vigil can read (a card of another install, a hand-made payload). */
export const UNREADABLE_BUTTON: Refusal = {
  tone: 'warning',
  text: 'This button does not name an alert; nothing was done.',
};

/** Resolve incident on an alert whose incident is gone. */
export const NO_INCIDENT: Refusal = { tone: 'warning', text: GONE.incident };

/** Refusals that say more than the domain's message: what the code means for the person. */
const BY_CODE: Readonly<Record<string, (message: string) => Refusal>> = {
  [ApprovalErrorCode.NotApprover]: (message) => ({
    tone: 'forbidden',
    text: `Not decided: you are not an approver. ${message}`,
  }),
  [ApprovalErrorCode.RequesterCannotApprove]: (message) => ({
    tone: 'forbidden',
    text: `Not approved: the requester cannot approve. ${message}`,
  }),
  // Not a refusal at all: the approval counts, and a second approver is needed.
  [ApprovalErrorCode.NeedsSecondApprover]: (message) => ({
    tone: 'progress',
    text: `Approval recorded; a second approver is needed. ${message}`,
  }),
  [ApprovalErrorCode.AlreadyDecided]: (message) => ({
    tone: 'info',
    text: `Not changed: already decided. ${message}`,
  }),
  [ApprovalErrorCode.ReasonRequired]: () => ({
    tone: 'warning',
    text: 'Not rejected: a reason is needed. Say why in the reason box, then click Reject again.',
  }),
};

/** A click names a thing that may since be gone; a typed reference that matches nothing keeps the domain's words. */
const GONE_BY_CODE: Readonly<Record<string, string>> = {
  [ApprovalErrorCode.NotFound]: GONE.action,
  [AlertErrorCode.NotFound]: GONE.alert,
  [RemediationErrorCode.NotFound]: GONE.remediation,
};

const toneOf = (code: string): RefusalTone =>
  code === 'auth.forbidden' || code.startsWith('person.') ? 'forbidden' : 'warning';

/**
 * Why a click (or, without `attempt`, a typed command) was refused, from the command layer's
 * error: its code picks the words, its message says the particulars.
 */
export function refusal(
  error: { readonly code: string; readonly message: string },
  attempt?: Attempt,
): Refusal {
  const gone = attempt === undefined ? undefined : GONE_BY_CODE[error.code];
  if (gone !== undefined) return { tone: 'warning', text: gone };
  const known = BY_CODE[error.code];
  if (known !== undefined) return known(error.message);
  return {
    tone: toneOf(error.code),
    text: attempt === undefined ? error.message : `${NOT_DONE[attempt]}: ${error.message}`,
  };
}

/** "Resolve incident" resolved some alerts and not others: how many, and the first reason. */
export const incidentPartlyResolved = (resolved: number, refused: number, reason: string): Refusal => ({
  tone: 'warning',
  text: `${resolved} alert(s) resolved; ${refused} not: ${reason}`,
});
