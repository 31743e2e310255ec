/**
 * What the demo's simulated Defender holds at first: three alerts_v2 alerts of one incident, shaped
 * like Microsoft's own examples (test/fixtures/alerts/graph-security: the security-alert-get and
 * security-incident-get responses of the Graph docs, and an app governance alert), with the
 * IDs, people and hosts of the demo's fictional Contoso.
 */
export const DEMO_INCIDENT_ID = '1126093';

type GraphJson = Record<string, unknown>;

const TENANT = 'b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c';
const alertUrl = (id: string) => `https://security.microsoft.com/alerts/${id}?tid=${TENANT}`;
const incidentUrl = `https://security.microsoft.com/incidents/${DEMO_INCIDENT_ID}?tid=${TENANT}`;

/** The app governance alert: also the demo's `/ingest/graph` sample when a real Defender is configured. */
export function appGovernanceAlert(iso: (minutesAgo: number) => string): GraphJson {
  const id = 'da637578995287051192_756343937';
  return {
    '@odata.type': '#microsoft.graph.security.alert',
    id,
    providerAlertId: id,
    incidentId: DEMO_INCIDENT_ID,
    status: 'new',
    severity: 'high',
    classification: null,
    determination: null,
    serviceSource: 'microsoftAppGovernance',
    detectionSource: 'appGovernancePolicy',
    productName: 'Microsoft Defender for Cloud Apps',
    title: 'App with suspicious OAuth scope made numerous mail reads',
    description:
      'An OAuth app with Mail.ReadWrite consented by 1 user read 4,200 messages in 10 minutes, far above its baseline.',
    category: 'CredentialAccess',
    alertPolicyId: 'app-gov-mail-read-anomaly',
    alertWebUrl: alertUrl(id),
    incidentWebUrl: incidentUrl,
    createdDateTime: iso(12),
    firstActivityDateTime: iso(14),
    lastUpdateDateTime: iso(12),
    comments: [],
    evidence: [
      {
        '@odata.type': '#microsoft.graph.security.oauthApplicationEvidence',
        roles: [],
        verdict: 'suspicious',
        appId: '3b2ff5e5-5d2f-4a8b-9d35-1f0e7d0c11aa',
        displayName: 'MailSync Pro',
        objectId: null,
        publisher: 'Unverified publisher',
      },
      {
        '@odata.type': '#microsoft.graph.security.userEvidence',
        roles: ['compromised'],
        verdict: 'suspicious',
        userAccount: {
          accountName: 'megan.bowen',
          domainName: 'contoso.com',
          userPrincipalName: 'megan.bowen@contoso.com',
          azureAdUserId: '5b4f5bb4-5f1f-4a86-b8ff-0a4b6c1c1e8d',
          displayName: 'Megan Bowen',
        },
      },
    ],
  };
}

/** The simulated Defender's alerts and their incident, as of `now`. */
export function demoDefenderData(now: Date): { alerts: GraphJson[]; incidents: GraphJson[] } {
  const iso = (minutesAgo: number) => new Date(now.getTime() - minutesAgo * 60_000).toISOString();
  const common = (id: string) => ({
    '@odata.type': '#microsoft.graph.security.alert',
    id,
    providerAlertId: id,
    incidentId: DEMO_INCIDENT_ID,
    status: 'new',
    classification: 'unknown',
    determination: 'unknown',
    tenantId: TENANT,
    assignedTo: null,
    alertWebUrl: alertUrl(id),
    incidentWebUrl: incidentUrl,
    resolvedDateTime: null,
    comments: [],
  });
  const token = 'adda21de253ca551df2175818825088751ac4ed5e365dae35a1a';
  const hidden = 'da638412345678901234_512345678';
  return {
    alerts: [
      appGovernanceAlert(iso),
      {
        ...common(token),
        severity: 'medium',
        serviceSource: 'microsoftDefenderForCloudApps',
        detectionSource: 'microsoftDefenderForCloudApps',
        detectorId: 'AnomalousToken',
        title: 'Anomalous Token',
        description:
          'Anomalous token indicates that there are abnormal characteristics in the token such as token duration and authentication from unfamiliar IP address',
        category: 'InitialAccess',
        mitreTechniques: [],
        createdDateTime: iso(20),
        firstActivityDateTime: iso(22),
        lastActivityDateTime: iso(21),
        evidence: [
          {
            '@odata.type': '#microsoft.graph.security.userEvidence',
            verdict: 'unknown',
            remediationStatus: 'none',
            roles: ['compromised'],
            userAccount: {
              accountName: 'megan.bowen',
              domainName: 'contoso.com',
              azureAdUserId: '5b4f5bb4-5f1f-4a86-b8ff-0a4b6c1c1e8d',
              userPrincipalName: 'megan.bowen@contoso.com',
              displayName: 'Megan Bowen',
            },
          },
          {
            '@odata.type': '#microsoft.graph.security.ipEvidence',
            verdict: 'malicious',
            remediationStatus: 'none',
            roles: [],
            ipAddress: '203.0.113.77',
            countryLetterCode: 'US',
          },
        ],
      },
      {
        ...common(hidden),
        severity: 'low',
        serviceSource: 'microsoftDefenderForEndpoint',
        detectionSource: 'antivirus',
        detectorId: 'e0da400f-affd-43ef-b1d5-afc2eb6f2756',
        title: 'Suspicious execution of hidden file',
        description:
          'A hidden file has been launched. This activity could indicate a compromised host. Attackers often hide files associated with malicious tools to evade file system inspection and defenses.',
        category: 'DefenseEvasion',
        mitreTechniques: ['T1564.001'],
        createdDateTime: iso(9),
        firstActivityDateTime: iso(11),
        lastActivityDateTime: iso(9),
        evidence: [
          {
            '@odata.type': '#microsoft.graph.security.deviceEvidence',
            verdict: 'unknown',
            remediationStatus: 'none',
            mdeDeviceId: '73e7e2de709dff64ef64b1d0c30e67fab63279db',
            deviceDnsName: 'fin-ws-17.contoso.com',
            osPlatform: 'Windows10',
            healthStatus: 'active',
            riskScore: 'medium',
            onboardingStatus: 'onboarded',
            roles: ['compromised'],
          },
          {
            '@odata.type': '#microsoft.graph.security.fileEvidence',
            verdict: 'unknown',
            remediationStatus: 'none',
            detectionStatus: 'detected',
            mdeDeviceId: '73e7e2de709dff64ef64b1d0c30e67fab63279db',
            roles: [],
            fileDetails: {
              sha1: '5f1e8acedc065031aad553b710838eb366cfee9a',
              sha256: '8963a19fb992ad9a76576c5638fd68292cffb9aaac29eb8285f9abf6196a7dec',
              fileName: 'invoice.exe',
              filePath: 'C:\\Users\\megan\\AppData\\Local\\Temp',
              fileSize: 6136392,
              filePublisher: null,
              signer: null,
              issuer: null,
            },
          },
        ],
      },
    ],
    incidents: [
      {
        '@odata.type': '#microsoft.graph.security.incident',
        id: DEMO_INCIDENT_ID,
        tenantId: TENANT,
        incidentWebUrl: incidentUrl,
        redirectIncidentId: null,
        displayName: 'Multi-stage incident involving Initial access & Defense evasion on one endpoint',
        createdDateTime: iso(20),
        assignedTo: null,
        classification: 'unknown',
        determination: 'unknown',
        status: 'active',
        severity: 'high',
        customTags: ['Demo'],
        systemTags: [],
        description: null,
        lastModifiedBy: 'Microsoft 365 Defender-AlertCorrelation',
        comments: [],
      },
    ],
  };
}
