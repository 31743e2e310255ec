import { appGovernanceAlert } from './defender-alerts.js';

/** One sample alert for each ingest format, shaped like what those systems send. */
export function sampleAlerts(now: Date): { format: string; body: unknown }[] {
  const iso = (minutesAgo: number) => new Date(now.getTime() - minutesAgo * 60_000).toISOString();
  return [
    { format: 'graph', body: appGovernanceAlert(iso) },
    {
      format: 'alertmanager',
      body: {
        version: '4',
        groupKey: '{}:{alertname="SSHBruteForce"}',
        truncatedAlerts: 0,
        status: 'firing',
        receiver: 'vigil',
        groupLabels: { alertname: 'SSHBruteForce' },
        commonLabels: { alertname: 'SSHBruteForce', severity: 'critical' },
        commonAnnotations: {},
        externalURL: 'http://alertmanager.example.com:9093',
        alerts: [
          {
            status: 'firing',
            labels: {
              alertname: 'SSHBruteForce',
              severity: 'critical',
              instance: 'bastion-01:9100',
              src_ip: '203.0.113.45',
            },
            annotations: {
              summary: 'SSH brute force against bastion-01',
              description: '1,532 failed SSH logins from 203.0.113.45 in 5 minutes.',
            },
            startsAt: iso(6),
            endsAt: '0001-01-01T00:00:00Z',
            generatorURL: 'http://prometheus.example.com:9090/graph?g0.expr=ssh_failed_logins',
            fingerprint: '5f1c2a3b4d5e6f70',
          },
        ],
      },
    },
    {
      format: 'grafana',
      body: {
        receiver: 'vigil',
        status: 'firing',
        orgId: 1,
        alerts: [
          {
            status: 'firing',
            labels: { alertname: 'EgressSpike', severity: 'warning', host: 'db-02' },
            annotations: { summary: 'Outbound traffic from db-02 is 40x its baseline' },
            startsAt: iso(3),
            endsAt: '0001-01-01T00:00:00Z',
            generatorURL: 'http://grafana.example.com/alerting/grafana/egress/view',
            fingerprint: 'a1b2c3d4e5f60718',
            silenceURL: 'http://grafana.example.com/alerting/silence/new',
            dashboardURL: '',
            panelURL: '',
            values: { B: 41.2 },
          },
        ],
        groupLabels: { alertname: 'EgressSpike' },
        commonLabels: { alertname: 'EgressSpike' },
        commonAnnotations: {},
        externalURL: 'http://grafana.example.com/',
        version: '1',
        groupKey: '{}:{alertname="EgressSpike"}',
        truncatedAlerts: 0,
        title: '[FIRING:1] EgressSpike',
        state: 'alerting',
        message: 'Outbound traffic from db-02 is 40x its baseline',
      },
    },
    {
      format: 'pagerduty',
      body: {
        routing_key: 'samplekey000000000000000000000000',
        event_action: 'trigger',
        dedup_key: 'edr-ransomware-fin-ws-17',
        payload: {
          summary: 'Ransomware behaviour blocked on FIN-WS-17',
          source: 'fin-ws-17.contoso.com',
          severity: 'critical',
          timestamp: iso(2),
          component: 'edr',
          group: 'finance',
          class: 'malware',
          custom_details: {
            process: 'invoice.exe',
            sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
          },
        },
      },
    },
    {
      format: 'generic',
      body: {
        title: 'Impossible travel: sign-ins from Lisbon and Singapore within 20 minutes',
        description: 'adele.vance@contoso.com signed in from two countries 11,000 km apart.',
        severity: 'medium',
        source: 'idp',
        id: 'travel-adele-1',
        category: 'InitialAccess',
        policy: { name: 'Impossible travel' },
        entities: [
          { kind: 'user', id: 'adele.vance@contoso.com', name: 'Adele Vance' },
          { kind: 'ip', id: '198.51.100.7' },
          { kind: 'ip', id: '192.0.2.99' },
        ],
        labels: { team: 'identity' },
      },
    },
  ];
}
