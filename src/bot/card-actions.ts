/**
 * The actions a person can take on an alert card (and on a remediation notice), with IDs shared by every platform's renderer
 * and parser (Slack `action_id`, Teams `Action.Execute` verb). Changing an ID breaks every card
 * already posted, so these are part of the contract.
 */
export const CARD_ACTIONS = {
  startProgress: 'alert.start_progress',
  resolve: 'alert.resolve',
  reopen: 'alert.reopen',
  assignToMe: 'alert.assign_to_me',
  investigate: 'alert.investigate',
  approve: 'action.approve',
  reject: 'action.reject',
  /** Resolve every alert of the card's Defender incident; its value is the incident's ID. */
  resolveIncident: 'incident.resolve',
  /** On a notice about an open remediation; the value (Teams: `remediationId`) is the remediation's ID. */
  completeRemediation: 'remediation.complete',
  fileException: 'remediation.exception',
} as const;

export type CardActionId = (typeof CARD_ACTIONS)[keyof typeof CARD_ACTIONS];

export const CARD_ACTION_IDS: readonly CardActionId[] = Object.values(CARD_ACTIONS);

export const isCardActionId = (value: string): value is CardActionId =>
  (CARD_ACTION_IDS as readonly string[]).includes(value);

/** What a button carries: the alert and the version the card showed, so a stale click is detected. */
export interface CardActionValue {
  readonly alertId: string;
  readonly version: number;
}

export const encodeCardActionValue = (value: CardActionValue): string => `${value.alertId}:${value.version}`;

export function decodeCardActionValue(raw: string | undefined): CardActionValue | null {
  const match = /^([0-9a-f-]{36}):(\d{1,9})$/i.exec(raw ?? '');
  if (match?.[1] === undefined || match[2] === undefined) return null;
  return { alertId: match[1].toLowerCase(), version: Number(match[2]) };
}
