import type { EntityVerdict, Finding, Verdict } from '../../domain/index.js';
import type { EnrichmentContext, EnrichmentProvider, EnrichmentResult } from './port.js';

/** Permissions that let an app read or send everyone's mail, files or directory: what consent phishing is after. */
const HIGH_RISK_PERMISSIONS = [
  'mail.read',
  'mail.readwrite',
  'mail.send',
  'mailboxsettings.readwrite',
  'files.read.all',
  'files.readwrite.all',
  'sites.readwrite.all',
  'directory.readwrite.all',
  'user.readwrite.all',
  'application.readwrite.all',
  'approleassignment.readwrite.all',
  'rolemanagement.readwrite.directory',
  'full_access_as_app',
  'full_access_as_user',
];

export interface AppRisk {
  readonly verdict: Verdict;
  readonly why: string;
  readonly highRisk: readonly string[];
  readonly publisherVerified: boolean | null;
  readonly tenantWide: boolean;
}

const asStrings = (value: unknown): string[] =>
  Array.isArray(value)
    ? value.map(String)
    : typeof value === 'string'
      ? value.split(/[\s,]+/).filter(Boolean)
      : [];

/**
 * Judges an OAuth app from what the alert's evidence says: its permissions (`permissions` or
 * `scopes`), whether its publisher is verified (`publisherVerified`, or a `verifiedPublisher`
 * object), and its consent scope (`consentType`/`consentScope`: `AllPrincipals` or `tenant` is
 * tenant-wide). High-risk permissions from an unverified publisher are malicious; high-risk
 * permissions, or an unverified app with tenant-wide consent, suspicious.
 */
export function assessApp(attributes: Readonly<Record<string, unknown>>): AppRisk {
  const permissions = [...asStrings(attributes.permissions), ...asStrings(attributes.scopes)];
  const highRisk = permissions.filter((p) => HIGH_RISK_PERMISSIONS.includes(p.toLowerCase()));
  const verified =
    typeof attributes.publisherVerified === 'boolean'
      ? attributes.publisherVerified
      : attributes.verifiedPublisher !== undefined
        ? attributes.verifiedPublisher !== null &&
          Object.keys(Object(attributes.verifiedPublisher)).length > 0
        : null;
  const scope = String(attributes.consentType ?? attributes.consentScope ?? '').toLowerCase();
  const tenantWide = scope === 'allprincipals' || scope === 'tenant' || scope === 'admin';
  const reasons = [
    highRisk.length > 0 ? `high-risk permissions ${highRisk.join(', ')}` : null,
    verified === false ? 'unverified publisher' : null,
    tenantWide ? 'tenant-wide consent' : null,
  ].filter((reason): reason is string => reason !== null);
  const verdict: Verdict =
    highRisk.length > 0 && verified === false
      ? 'malicious'
      : highRisk.length > 0 || (verified === false && tenantWide)
        ? 'suspicious'
        : permissions.length > 0 || verified !== null
          ? 'clean'
          : 'unknown';
  return {
    verdict,
    why: reasons.length > 0 ? reasons.join('; ') : 'no risky permissions',
    highRisk,
    publisherVerified: verified,
    tenantWide,
  };
}

/** The OAuth app step: every app entity, judged from the evidence attributes of the investigation's alerts. */
export function oauthAppRiskProvider(): EnrichmentProvider {
  return {
    name: 'oauth_app_risk',
    async run(context: EnrichmentContext): Promise<EnrichmentResult> {
      const verdicts: EntityVerdict[] = [];
      const findings: Finding[] = [];
      for (const entity of context.entities.filter((e) => e.kind === 'app')) {
        // Evidence may be spread over several alerts about the same app; all of it counts.
        const evidence = context.alerts
          .flatMap((alert) => alert.entities)
          .filter(
            (e) => (e.kind === 'oauth_application' || e.kind === 'cloud_application') && e.key === entity.key,
          )
          .reduce<Record<string, unknown>>((all, e) => Object.assign(all, e.attributes), {
            ...entity.attributes,
          });
        const risk = assessApp(evidence);
        if (risk.verdict === 'unknown') continue;
        verdicts.push({ kind: 'app', key: entity.key, verdict: risk.verdict, why: risk.why });
        findings.push({
          key: `app:${entity.key}`,
          title: `OAuth app ${entity.displayName}: ${risk.why}`,
          verdict: risk.verdict,
          entity: { kind: 'app', key: entity.key },
          details: {
            highRisk: risk.highRisk,
            publisherVerified: risk.publisherVerified,
            tenantWide: risk.tenantWide,
          },
        });
      }
      return { verdicts, findings, summary: { appsAssessed: findings.length } };
    },
  };
}
