import { DEFENDER_SCOPE, GRAPH_SCOPE } from './entra-token.js';

/** One thing Vigil does with Microsoft, and the application permissions (app roles) any one of which allows it. */
export interface MicrosoftFeature {
  readonly name: string;
  readonly scope: typeof GRAPH_SCOPE | typeof DEFENDER_SCOPE;
  /** Least privileged first: the first is the one to grant. */
  readonly anyOf: readonly string[];
}

/**
 * The application permissions each feature needs, from Microsoft's permission tables (least
 * privileged first, then the higher ones that also work):
 * - Graph security API: "Update alert" (security-alert-update) and "List alerts_v2" need
 *   SecurityAlert.ReadWrite.All / SecurityAlert.Read.All; "Update incident" and "List incidents"
 *   SecurityIncident.ReadWrite.All / SecurityIncident.Read.All.
 * - user: revokeSignInSessions: User.RevokeSessions.All (higher: User.ReadWrite.All,
 *   Directory.ReadWrite.All); "Update user" of accountEnabled: User.EnableDisableAccount.All
 *   (higher: User.ReadWrite.All, Directory.ReadWrite.All).
 * - "List oauth2PermissionGrants" and "Delete oAuth2PermissionGrant":
 *   DelegatedPermissionGrant.ReadWrite.All (higher: Directory.ReadWrite.All).
 * - Defender for Endpoint API: "Isolate machine" Machine.Isolate, "Stop and quarantine file"
 *   Machine.StopAndQuarantine, "Submit or update indicator" Ti.ReadWrite or Ti.ReadWrite.All.
 */
export const MICROSOFT_FEATURES: readonly MicrosoftFeature[] = [
  {
    name: 'pull alerts',
    scope: GRAPH_SCOPE,
    anyOf: ['SecurityAlert.Read.All', 'SecurityAlert.ReadWrite.All'],
  },
  {
    name: 'write back alert status and comments',
    scope: GRAPH_SCOPE,
    anyOf: ['SecurityAlert.ReadWrite.All'],
  },
  {
    name: 'pull incidents',
    scope: GRAPH_SCOPE,
    anyOf: ['SecurityIncident.Read.All', 'SecurityIncident.ReadWrite.All'],
  },
  { name: 'write back incidents', scope: GRAPH_SCOPE, anyOf: ['SecurityIncident.ReadWrite.All'] },
  {
    name: 'revoke sessions',
    scope: GRAPH_SCOPE,
    anyOf: ['User.RevokeSessions.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'],
  },
  {
    name: 'disable user',
    scope: GRAPH_SCOPE,
    anyOf: ['User.EnableDisableAccount.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'],
  },
  {
    name: 'revoke OAuth consent',
    scope: GRAPH_SCOPE,
    anyOf: ['DelegatedPermissionGrant.ReadWrite.All', 'Directory.ReadWrite.All'],
  },
  { name: 'isolate device', scope: DEFENDER_SCOPE, anyOf: ['Machine.Isolate'] },
  { name: 'quarantine file on a device', scope: DEFENDER_SCOPE, anyOf: ['Machine.StopAndQuarantine'] },
  {
    name: 'block indicator (and quarantine tenant-wide)',
    scope: DEFENDER_SCOPE,
    anyOf: ['Ti.ReadWrite', 'Ti.ReadWrite.All'],
  },
];

export interface FeatureCheck {
  readonly feature: MicrosoftFeature;
  /** The granted role that allows it, or null when none does. */
  readonly grantedBy: string | null;
}

/** Which features the granted roles of one token allow. */
export function checkFeatures(scope: string, roles: readonly string[]): FeatureCheck[] {
  const granted = new Set(roles.map((role) => role.toLowerCase()));
  return MICROSOFT_FEATURES.filter((feature) => feature.scope === scope).map((feature) => ({
    feature,
    grantedBy: feature.anyOf.find((role) => granted.has(role.toLowerCase())) ?? null,
  }));
}

/** The `roles` claim as a list: Entra ID puts the application permissions granted to the app there. */
export function rolesOf(claims: Record<string, unknown> | null): string[] {
  const roles = claims?.roles;
  return Array.isArray(roles) ? roles.filter((role): role is string => typeof role === 'string') : [];
}
