import type { Severity } from '../alert/alert.js';
import type { ActionKind } from '../approval/action.js';
import type { AutomationLevel } from '../investigation/rule.js';
import type { EntityMatcher, LabelMatcher } from './matchers.js';

/** How an OAuth app was consented: by an admin for the whole tenant, or by a user for themselves. */
export const CONSENT_SCOPES = ['admin', 'user'] as const;
export type ConsentScope = (typeof CONSENT_SCOPES)[number];

/**
 * Conditions on an OAuth application the alert is about (app governance style), read from the
 * `oauth_application` entity's attributes: `permissions` (string list), `publisherVerified`
 * (boolean) and `consentScope` (`admin` or `user`; Graph's `AllPrincipals`/`Principal` are read too).
 */
export interface OAuthAppConditions {
  /** The app holds at least one of these permissions (`Mail.ReadWrite`, compared without case). */
  readonly permissionsAny?: readonly string[] | undefined;
  readonly publisherVerified?: boolean | undefined;
  readonly consentScope?: ConsentScope | undefined;
}

/**
 * What a policy matches on the normalised alert. Every condition given must hold; a policy with
 * no conditions matches every alert.
 */
export interface PolicyConditions {
  /** The alert's source is one of these (lower-case). */
  readonly sources?: readonly string[] | undefined;
  readonly severityAtLeast?: Severity | undefined;
  readonly categories?: readonly string[] | undefined;
  readonly labels?: readonly LabelMatcher[] | undefined;
  /** Each matcher must match some entity of the alert. */
  readonly entities?: readonly EntityMatcher[] | undefined;
  readonly oauthApp?: OAuthAppConditions | undefined;
}

/** One remediation step an auto-remediating policy runs (`revoke_oauth_consent`, `revoke_sessions`...); `params.target` narrows it to one entity. */
export interface RemediationStep {
  readonly action: ActionKind;
  readonly params?: Readonly<Record<string, unknown>> | undefined;
}

/** What a matching policy does. A policy with only `record` names itself on the alert and nothing more. */
export type PolicyAction =
  | {
      readonly type: 'route';
      readonly slack?: readonly string[] | undefined;
      readonly teams?: readonly string[] | undefined;
    }
  | { readonly type: 'investigate'; readonly playbook: string; readonly automation: AutomationLevel }
  | { readonly type: 'remediate'; readonly steps: readonly RemediationStep[] }
  | { readonly type: 'page'; readonly escalationPolicy: string }
  | { readonly type: 'record' };

export type PolicyActionType = PolicyAction['type'];

/** A policy as written by an admin (the policies file, the API). */
export interface PolicySpec {
  readonly name: string;
  readonly description?: string | undefined;
  readonly enabled: boolean;
  readonly conditions: PolicyConditions;
  readonly actions: readonly PolicyAction[];
}

/** A stored policy: its spec, identity, version (rises with each change) and order. */
export interface Policy extends PolicySpec {
  readonly id: string;
  readonly version: number;
  /** Evaluation order: the first matching policy names the alert. */
  readonly position: number;
}
