import type { Actor, AlertStatus, Severity } from '../../domain/index.js';
import type { CardActionId } from '../card-actions.js';
import type { FACT_LABELS } from './vocabulary.js';

/** A link people open; its URL is already known to be http(s). */
export interface CardLink {
  readonly label: string;
  readonly url: string;
}

/**
 * A piece of a value as the model means it; each platform decides how it looks: `word` is Vigil's
 * own (safe, optionally stressed), `text` came from outside (escaped and cut), `person` is a
 * mention or a name, `time` a date the platform formats.
 */
export type Run =
  | { readonly kind: 'word'; readonly text: string; readonly strong?: true }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'person'; readonly actor: Actor }
  | { readonly kind: 'time'; readonly at: Date };

export type FactKey = keyof typeof FACT_LABELS;

export interface CardFact {
  readonly key: FactKey;
  readonly label: string;
  readonly value: readonly Run[];
  /** Where the value can be opened (the source's policy, the Vigil policy that acted). */
  readonly link: CardLink | null;
}

/** What a button acts on; each platform encodes it as its cards always have (see card-actions.ts). */
export type ButtonTarget =
  | { readonly kind: 'alert'; readonly alertId: string; readonly version: number }
  | {
      readonly kind: 'incident';
      readonly incidentId: string;
      readonly alertId: string;
      readonly version: number;
    }
  | { readonly kind: 'action'; readonly actionId: string; readonly alertId: string | null }
  | { readonly kind: 'remediation'; readonly remediationId: string };

export interface CardButton {
  readonly id: CardActionId;
  readonly word: string;
  readonly emphasis: 'primary' | 'danger' | null;
  readonly target: ButtonTarget;
}

export interface EntityLine {
  readonly label: string;
  readonly names: readonly string[];
  /** Names of this label not shown; the console shows them all. */
  readonly hidden: number;
}

export interface ActionLine {
  readonly kindWord: string;
  readonly target: string;
  readonly statusWord: string;
  /** Why it failed, when it did: people should not need the server's log to know. */
  readonly error: string | null;
}

export interface PendingAction {
  readonly id: string;
  readonly kindWord: string;
  readonly target: string;
  readonly reason: string;
  readonly approvalsWord: string;
  readonly approve: CardButton;
  readonly reject: CardButton;
}

export interface InvestigationSection {
  readonly id: string;
  readonly title: string;
  readonly statusWord: string;
  readonly link: CardLink | null;
  readonly settled: readonly ActionLine[];
  readonly pending: readonly PendingAction[];
}

export interface IncidentSection {
  readonly name: string;
  readonly alertsLine: string;
  readonly link: CardLink | null;
}

/** The alert card every platform shows: what it says and offers, not how it looks. */
export interface AlertCardModel {
  readonly alertId: string;
  readonly number: string;
  readonly title: string;
  readonly severity: Severity;
  readonly severityWord: string;
  readonly status: AlertStatus;
  readonly statusWord: string;
  /** One line for notifications and clients that cannot show the card. */
  readonly summary: string;
  readonly facts: readonly CardFact[];
  readonly description: string;
  readonly incident: IncidentSection | null;
  readonly entities: readonly EntityLine[];
  /** Kinds of entity beyond the lines shown. */
  readonly hiddenEntityKinds: number;
  /** The links the source sent with the alert. */
  readonly sourceLinks: readonly CardLink[];
  readonly openInVigil: CardLink | null;
  /** The alert's own buttons for its status; anyone sees them, the command layer decides who may press. */
  readonly actions: readonly CardButton[];
  readonly investigations: readonly InvestigationSection[];
  /** Pending actions beyond those shown with Approve and Reject, in words; null when none. */
  readonly morePending: string | null;
  readonly investigate: CardButton | null;
}
