/**
 * Automatic linking by e-mail: two identities become one person only when both carry the same
 * address, verified, and both are members of this install's own Slack workspace or Entra tenant.
 * A guest, a Slack Connect user or someone of another tenant can pick any address their own
 * workspace or tenant lets them have, so an address alone never vouches for them.
 */
export const AUTO_LINK_REFUSALS = {
  noEmail: 'no_email',
  unverified: 'unverified',
  guest: 'guest',
  external: 'external',
  otherTenant: 'other_tenant',
  notPerson: 'not_a_person',
} as const;
export type AutoLinkRefusal = (typeof AUTO_LINK_REFUSALS)[keyof typeof AUTO_LINK_REFUSALS];

/** What a platform told of an identity's e-mail, and whether it may link by it (refusal null). */
export interface DirectoryEntry {
  readonly email: string | null;
  readonly verified: boolean;
  readonly refusal: AutoLinkRefusal | null;
  /** The user principal name, where the platform tells it (Teams). */
  readonly upn?: string | null;
}

const entry = (email: string | null, verified: boolean, refusal: AutoLinkRefusal | null): DirectoryEntry => ({
  email,
  verified,
  refusal: email === null ? AUTO_LINK_REFUSALS.noEmail : refusal,
});

const clean = (value: unknown): string | null =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : null;

/** The parts of Slack's `users.info` user object the rule reads. */
export interface SlackUserInfo {
  readonly team_id?: string;
  readonly is_bot?: boolean;
  readonly deleted?: boolean;
  readonly is_restricted?: boolean;
  readonly is_ultra_restricted?: boolean;
  readonly is_stranger?: boolean;
  readonly profile?: { readonly email?: string };
}

/**
 * A Slack user: Slack confirms a member's address before they join, so an address it returns is
 * verified; guests (`is_restricted`, `is_ultra_restricted`) and users of another workspace
 * (Slack Connect: another `team_id`, or `is_stranger`) are refused.
 */
export function slackDirectoryEntry(user: SlackUserInfo, homeTeam: string): DirectoryEntry {
  const email = clean(user.profile?.email);
  if (user.is_bot === true || user.deleted === true) return entry(email, false, AUTO_LINK_REFUSALS.notPerson);
  if (user.is_stranger === true || user.team_id !== homeTeam)
    return entry(email, false, AUTO_LINK_REFUSALS.external);
  if (user.is_restricted === true || user.is_ultra_restricted === true)
    return entry(email, true, AUTO_LINK_REFUSALS.guest);
  return entry(email, true, null);
}

/** The parts of a Bot Framework `TeamsChannelAccount` the rule reads. */
export interface TeamsMemberInfo {
  readonly email?: string;
  readonly userPrincipalName?: string;
  readonly tenantId?: string;
  readonly userRole?: string;
}

/**
 * A Teams member: Entra ID keeps a member's address, so it is verified for members of this
 * install's tenant; a guest (`userRole: guest`) or a member of another tenant is refused, and so
 * is every member when the install has no home tenant to compare with.
 */
export function teamsDirectoryEntry(member: TeamsMemberInfo, homeTenant: string | null): DirectoryEntry {
  const email = clean(member.email) ?? clean(member.userPrincipalName);
  const upn = clean(member.userPrincipalName)?.toLowerCase() ?? null;
  const sameTenant =
    homeTenant !== null && member.tenantId !== undefined && member.tenantId.toLowerCase() === homeTenant;
  if (!sameTenant) return { ...entry(email, false, AUTO_LINK_REFUSALS.otherTenant), upn };
  if (member.userRole?.toLowerCase() === 'guest')
    return { ...entry(email, true, AUTO_LINK_REFUSALS.guest), upn };
  return { ...entry(email, true, null), upn };
}

/**
 * An OpenID Connect sign-in: only `email_verified: true` vouches for the address. An Entra ID
 * token names its tenant (`tid`): one of another tenant, or a guest (`acct: 1`), is refused.
 */
export function oidcDirectoryEntry(
  claims: Record<string, unknown>,
  homeTenant: string | null,
): DirectoryEntry {
  const email = clean(claims.email);
  const verified = claims.email_verified === true;
  const tenant = clean(claims.tid)?.toLowerCase();
  if (tenant !== undefined && tenant !== homeTenant)
    return entry(email, verified, AUTO_LINK_REFUSALS.otherTenant);
  if (claims.acct === 1) return entry(email, verified, AUTO_LINK_REFUSALS.guest);
  return entry(email, verified, verified ? null : AUTO_LINK_REFUSALS.unverified);
}
