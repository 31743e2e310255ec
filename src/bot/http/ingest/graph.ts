import { z } from 'zod';
import {
  type AlertEntity,
  type Classification,
  type EntityKind,
  type IngestEvent,
  SEVERITIES,
  type Severity,
} from '../../../domain/index.js';
import { firstText, linkTo } from './alertmanager.js';
import { dateOr, defineFormat, draft, fingerprintOf, safeUrl } from './format.js';

/**
 * Graph's enums are open (`unknownFutureValue` is in every one, and values such as
 * `benignPositive` appear before the docs list them), so they are read as strings and mapped
 * here; an unknown value never rejects an alert. Only the types are checked.
 */
const openText = z.string().nullish();

const evidence = z.looseObject({
  '@odata.type': openText,
  roles: z.array(z.string()).nullish(),
  verdict: openText,
  remediationStatus: openText,
});
type Evidence = z.infer<typeof evidence>;

const graphAlert = z.looseObject({
  '@odata.type': openText,
  id: z.string().min(1).max(500),
  title: z.string(),
  description: openText,
  severity: openText,
  status: openText,
  classification: openText,
  determination: openText,
  category: openText,
  serviceSource: openText,
  detectionSource: openText,
  productName: openText,
  detectorId: openText,
  alertPolicyId: openText,
  tenantId: openText,
  incidentId: z.union([z.string(), z.number()]).nullish(),
  alertWebUrl: openText,
  incidentWebUrl: openText,
  createdDateTime: openText,
  lastUpdateDateTime: openText,
  firstActivityDateTime: openText,
  resolvedDateTime: openText,
  mitreTechniques: z.array(z.string()).nullish(),
  evidence: z.array(evidence).nullish(),
  comments: z.array(z.unknown()).nullish(),
});
export type GraphAlert = z.infer<typeof graphAlert>;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Objects that look like alerts but are not alerts_v2, named for what they are: a v1 alert
 * (`vendorInformation`, `status: newAlert`) has the same `id`/`title` and would otherwise be
 * mis-mapped silently.
 */
function shapeProblem(item: unknown): string | null {
  if (!isRecord(item)) return null;
  const context = typeof item['@odata.context'] === 'string' ? item['@odata.context'] : '';
  const type = typeof item['@odata.type'] === 'string' ? item['@odata.type'] : '';
  if (
    'vendorInformation' in item ||
    'azureTenantId' in item ||
    item.status === 'newAlert' ||
    /#security\/alerts(\/|\(|$)/i.test(context)
  ) {
    return 'this is a legacy /security/alerts (v1) alert; send alerts_v2 (GET /security/alerts_v2/{id})';
  }
  if (/incident$/i.test(type) || /#security\/incidents/i.test(context)) {
    return 'this is a Microsoft Graph incident, not an alert; send its alerts from /security/alerts_v2';
  }
  if (type !== '' && !/\.security\.alert$/i.test(type)) {
    return `expected a #microsoft.graph.security.alert, got ${type}`;
  }
  return null;
}

/**
 * One item of a Graph alert list, checked as `/ingest/graph` checks it: the alert, or the reason
 * it is not one (the pull skips such items one by one).
 */
export function parseGraphAlert(
  item: unknown,
): { readonly ok: true; readonly alert: GraphAlert } | { readonly ok: false; readonly reason: string } {
  const problem = shapeProblem(item);
  if (problem !== null) return { ok: false, reason: problem };
  const result = graphAlert.safeParse(item);
  if (result.success) return { ok: true, alert: result.data };
  return {
    ok: false,
    reason: result.error.issues
      .map((issue) => `${issue.path.join('.') || '(item)'}: ${issue.message}`)
      .join('; '),
  };
}

/**
 * One alert, or a Graph collection `{ "value": [...] }`, always parsed to a list. Written as a
 * dispatch rather than `z.union` so each failure keeps its own path (`value.2.title`, `title`)
 * instead of being buried in a union issue.
 */
const graphBody = z.unknown().transform((input, ctx): GraphAlert[] => {
  const isList = isRecord(input) && Array.isArray(input.value);
  const items: readonly unknown[] = isList ? (input.value as unknown[]) : [input];
  if (items.length === 0)
    ctx.addIssue({ code: 'custom', path: ['value'], message: 'expected at least one alert' });
  const alerts: GraphAlert[] = [];
  let failed = items.length === 0;
  for (const [index, item] of items.entries()) {
    const at = isList ? ['value', index] : [];
    const problem = shapeProblem(item);
    if (problem !== null) {
      ctx.addIssue({ code: 'custom', path: at, message: problem });
      failed = true;
      continue;
    }
    const result = graphAlert.safeParse(item);
    if (result.success) {
      alerts.push(result.data);
      continue;
    }
    failed = true;
    for (const issue of result.error.issues) ctx.addIssue({ ...issue, path: [...at, ...issue.path] });
  }
  return failed ? z.NEVER : alerts;
});

/** Graph severities are Vigil's minus `critical`; `unknown` and `unknownFutureValue` read as medium. */
export function graphSeverity(value: string | null | undefined): Severity {
  const lower = value?.toLowerCase();
  return SEVERITIES.find((severity) => severity === lower) ?? 'medium';
}

/** `benignPositive` (not in the resource docs, seen in the wild) is a true detection of expected activity. */
export function graphClassification(value: string | null | undefined): Classification | null {
  switch (value?.toLowerCase()) {
    case 'truepositive':
      return 'true_positive';
    case 'falsepositive':
      return 'false_positive';
    case 'informationalexpectedactivity':
    case 'benignpositive':
      return 'informational_expected_activity';
    default:
      return null;
  }
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== ''
    ? value
    : typeof value === 'number'
      ? String(value)
      : undefined;
const field = (value: unknown, name: string): unknown => (isRecord(value) ? value[name] : undefined);
const lower = (value: string | undefined): string | undefined => value?.toLowerCase();
const joined = (separator: string, ...parts: (string | undefined)[]): string | undefined =>
  parts.every((part) => part === undefined)
    ? undefined
    : parts.filter((part) => part !== undefined).join(separator);

interface Identity {
  readonly kind: EntityKind;
  /**
   * Normalised by kind in `draft` (`entityKey`: UPNs, DNS names, app IDs, registry paths lower
   * case); lower-cased here only where Graph's identifiers ignore case beyond that rule (Windows
   * file paths, group and Azure resource IDs, message IDs).
   */
  readonly key: string | undefined;
  readonly displayName?: string | undefined;
}

/**
 * `@odata.type` suffix → entity kind and identity. Keys prefer the most stable identifier the
 * evidence type has (DNS name over MDE ID for devices, so Prometheus hosts and Defender devices
 * meet; SHA-256 over SHA-1 for files).
 */
const EVIDENCE_TYPES: ReadonlyMap<string, (e: Evidence) => Identity> = new Map([
  [
    'deviceEvidence',
    (e: Evidence): Identity => ({
      kind: 'device',
      key: text(e.deviceDnsName) ?? text(e.mdeDeviceId) ?? text(e.azureAdDeviceId),
      displayName: text(e.deviceDnsName) ?? text(e.hostName),
    }),
  ],
  [
    'userEvidence',
    (e: Evidence): Identity => {
      const account = e.userAccount;
      const accountName = text(field(account, 'accountName'));
      const domain = text(field(account, 'domainName'));
      return {
        kind: 'user',
        key:
          text(field(account, 'userPrincipalName')) ??
          (accountName === undefined
            ? undefined
            : domain === undefined
              ? accountName
              : `${domain}\\${accountName}`) ??
          text(field(account, 'azureAdUserId')) ??
          text(field(account, 'userSid')),
        displayName:
          text(field(account, 'displayName')) ?? text(field(account, 'userPrincipalName')) ?? accountName,
      };
    },
  ],
  ['ipEvidence', (e: Evidence): Identity => ({ kind: 'ip', key: text(e.ipAddress) })],
  [
    'fileEvidence',
    (e: Evidence): Identity => {
      const file = e.fileDetails;
      return {
        kind: 'file',
        key: lower(
          text(field(file, 'sha256')) ??
            text(field(file, 'sha1')) ??
            joined('\\', text(field(file, 'filePath')), text(field(file, 'fileName'))),
        ),
        displayName: text(field(file, 'fileName')),
      };
    },
  ],
  [
    'processEvidence',
    (e: Evidence): Identity => {
      const image = text(field(e.imageFile, 'fileName'));
      const id = text(e.processId);
      return {
        kind: 'process',
        key: joined(':', id, image),
        displayName: image === undefined ? id : id === undefined ? image : `${image} (${id})`,
      };
    },
  ],
  ['urlEvidence', (e: Evidence): Identity => ({ kind: 'url', key: text(e.url) })],
  [
    'mailboxEvidence',
    (e: Evidence): Identity => ({
      kind: 'mailbox',
      key: text(e.primaryAddress),
      displayName: text(e.displayName),
    }),
  ],
  [
    'analyzedMessageEvidence',
    (e: Evidence): Identity => ({
      kind: 'mail_message',
      key: text(e.internetMessageId) ?? lower(text(e.networkMessageId)),
      displayName: text(e.subject),
    }),
  ],
  [
    'oauthApplicationEvidence',
    (e: Evidence): Identity => ({
      kind: 'oauth_application',
      key: text(e.appId) ?? text(e.objectId),
      displayName: text(e.displayName),
    }),
  ],
  [
    'cloudApplicationEvidence',
    (e: Evidence): Identity => ({
      kind: 'cloud_application',
      key: text(e.appId) ?? text(e.displayName),
      displayName: text(e.displayName),
    }),
  ],
  [
    'registryKeyEvidence',
    (e: Evidence): Identity => {
      const path = joined('\\', text(e.registryHive), text(e.registryKey));
      return { kind: 'registry_key', key: path, displayName: path };
    },
  ],
  [
    'registryValueEvidence',
    (e: Evidence): Identity => {
      const path = joined('\\', text(e.registryHive), text(e.registryKey), text(e.registryValueName));
      return { kind: 'registry_value', key: path, displayName: path };
    },
  ],
  [
    'securityGroupEvidence',
    (e: Evidence): Identity => ({
      kind: 'security_group',
      key: lower(text(e.securityGroupId) ?? text(e.displayName)),
      displayName: text(e.displayName),
    }),
  ],
  [
    'azureResourceEvidence',
    (e: Evidence): Identity => ({
      kind: 'cloud_resource',
      // ARM resource IDs are case-insensitive.
      key: lower(text(e.resourceId)),
      displayName: text(e.resourceName),
    }),
  ],
  [
    'amazonResourceEvidence',
    (e: Evidence): Identity => ({
      kind: 'cloud_resource',
      key: text(e.amazonResourceId),
      displayName: text(e.resourceName),
    }),
  ],
  [
    'googleCloudResourceEvidence',
    (e: Evidence): Identity => ({
      kind: 'cloud_resource',
      key: text(e.fullResourceName),
      displayName: text(e.resourceName),
    }),
  ],
]);

/**
 * One evidence item as an entity. Everything the source said except its type and roles goes to
 * `attributes` (verdict, remediation status, an app's permissions and consent...), with the type
 * as `odataType`. Types Vigil does not know, and known ones that lack every identifier, get a
 * hash of their content as key: kept and shown, just not correlated across alerts.
 */
const EVIDENCE_BY_TYPE = new Map(
  [...EVIDENCE_TYPES].map(([type, identify]) => [type.toLowerCase(), identify]),
);

function evidenceEntity(item: Evidence): AlertEntity {
  const { '@odata.type': type, roles, ...rest } = item;
  const odataType = type ?? null;
  const shortType = odataType?.slice(odataType.lastIndexOf('.') + 1) ?? '';
  // Matched without case: Microsoft's own samples spell some types differently (oAuth/oauth).
  const identity = EVIDENCE_BY_TYPE.get(shortType.toLowerCase())?.(item) ?? {
    kind: 'other',
    key: text(item.id),
    displayName: text(item.displayName) ?? text(item.name) ?? (shortType || undefined),
  };
  const key = identity.key ?? fingerprintOf('evidence', JSON.stringify(item));
  return {
    kind: identity.kind,
    key,
    displayName: identity.displayName ?? key,
    roles: roles ?? [],
    attributes: { odataType, ...rest },
  };
}

function graphLabels(alert: GraphAlert): Record<string, string> {
  const labels: Record<string, string> = {};
  const set = (name: string, value: string | number | null | undefined) => {
    const shown = value === null || value === undefined ? '' : String(value);
    if (shown !== '') labels[name] = shown;
  };
  set('serviceSource', alert.serviceSource);
  set('detectionSource', alert.detectionSource);
  set('productName', alert.productName);
  set('tenantId', alert.tenantId);
  set('incidentId', alert.incidentId);
  set('mitreTechniques', alert.mitreTechniques?.join(','));
  return labels;
}

/**
 * Microsoft Graph security alerts_v2 (`#microsoft.graph.security.alert`). Every alert is stored
 * as an occurrence, even one that arrives already `inProgress` or `resolved`; the source's status
 * then follows as a `source_status` event for the same fingerprint (`graph:` + the alert ID,
 * which Microsoft never reuses). Dates are read leniently: Microsoft's own samples carry
 * unparseable ones, which fall back to the next date, then to the time of receipt.
 */
export const graphFormat = defineFormat({
  name: 'graph',
  schema: graphBody,
  toEvents: (alerts, receivedAt) =>
    alerts.flatMap((alert): IngestEvent[] => {
      const fingerprint = `graph:${alert.id}`;
      // Detections have no readable policy name: the product plus its policy (or detector) ID is the best there is.
      const policyId = firstText(alert.alertPolicyId, alert.detectorId);
      const product = firstText(alert.productName, alert.serviceSource) ?? 'Microsoft Graph';
      const policyName = policyId === undefined ? null : `${product}: ${policyId}`;
      const occurrence: IngestEvent = {
        kind: 'occurrence',
        draft: draft({
          source: 'graph',
          sourceId: alert.id,
          title: alert.title,
          // HTML and CRLF kept verbatim: renderers escape for their surface.
          description: alert.description ?? '',
          severity: graphSeverity(alert.severity),
          category: firstText(alert.category) ?? null,
          fingerprint,
          policyName,
          policyUrl: policyName === null ? null : safeUrl(alert.alertWebUrl),
          entities: (alert.evidence ?? []).map(evidenceEntity),
          labels: graphLabels(alert),
          links: [
            ...linkTo('Microsoft Defender', alert.alertWebUrl),
            ...linkTo('Incident', alert.incidentWebUrl),
          ],
          occurredAt: dateOr(alert.firstActivityDateTime, dateOr(alert.createdDateTime, receivedAt)),
          determination: firstText(alert.determination) ?? null,
          raw: alert,
        }),
      };
      const lastUpdate = dateOr(alert.lastUpdateDateTime, receivedAt);
      switch (alert.status?.toLowerCase()) {
        case 'inprogress':
          return [
            occurrence,
            { kind: 'source_status', source: 'graph', fingerprint, action: 'start_progress', at: lastUpdate },
          ];
        case 'resolved':
          return [
            occurrence,
            {
              kind: 'source_status',
              source: 'graph',
              fingerprint,
              action: 'resolve',
              at: dateOr(alert.resolvedDateTime, lastUpdate),
              classification: graphClassification(alert.classification) ?? undefined,
            },
          ];
        default:
          return [occurrence];
      }
    }),
});
