import { useState } from 'preact/hooks';
import { api } from '../api';
import { ResolveForm } from '../components/resolve-form';
import { ShowMore } from '../components/show-more';
import { ErrorLine, Loadable, SeverityBadge, StatusBadge } from '../components/status';
import { CLASSIFICATION_LABELS, STATUS_LABELS, STATUSES, safeHref, when } from '../format';
import { useAction, usePolling } from '../hooks';
import { href } from '../route';
import type { AlertStatus, Incident, IncidentDetail, IncidentPage as IncidentList } from '../types';

const nameOf = (incident: Incident) => incident.displayName ?? `Defender incident ${incident.graphId}`;

const alertsLine = (incident: Incident) =>
  STATUSES.filter((status) => incident.alertStatuses[status] > 0)
    .map((status) => `${incident.alertStatuses[status]} ${STATUS_LABELS[status]}`)
    .join(', ');

/** Defender incidents, newest first, filtered by status (read from their alerts). */
export function IncidentsPage() {
  const [status, setStatus] = useState<AlertStatus | ''>('');
  const [limit, setLimit] = useState(50);
  const query = new URLSearchParams({ limit: String(limit) });
  if (status !== '') query.set('status', status);
  const path = `/api/incidents?${query}`;
  const page = usePolling(() => api<IncidentList>('GET', path), [path]);
  return (
    <section>
      <h1>Incidents</h1>
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          Status
          <select
            name="status"
            value={status}
            onChange={(event) => setStatus(event.currentTarget.value as AlertStatus | '')}
          >
            <option value="">Any</option>
            {STATUSES.map((value) => (
              <option key={value} value={value}>
                {STATUS_LABELS[value]}
              </option>
            ))}
          </select>
        </label>
      </form>
      <Loadable data={page.data} error={page.error} what="Incidents">
        {(data) =>
          data.incidents.length === 0 ? (
            <p class="muted">No incidents match.</p>
          ) : (
            <>
              <table class="alerts" data-testid="incident-list">
                <thead>
                  <tr>
                    <th>Incident</th>
                    <th>Status</th>
                    <th>Alerts</th>
                    <th>In Defender</th>
                    <th>Since</th>
                  </tr>
                </thead>
                <tbody>
                  {data.incidents.map((incident) => (
                    <tr key={incident.id} data-incident-id={incident.id}>
                      <td>
                        <a href={href('incidents', incident.id)}>{nameOf(incident)}</a>
                      </td>
                      <td>
                        <StatusBadge status={incident.status} />
                      </td>
                      <td>{`${incident.alertCount}: ${alertsLine(incident)}`}</td>
                      <td>{incident.defender.status ?? '—'}</td>
                      <td>{when(incident.createdAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {data.nextCursor !== null && <ShowMore limit={limit} setLimit={setLimit} />}
            </>
          )
        }
      </Loadable>
    </section>
  );
}

/** One incident: its alerts and their states, what Defender says of it, and Resolve incident. */
export function IncidentPage({ id }: { id: string }) {
  const path = `/api/incidents/${encodeURIComponent(id)}`;
  const detail = usePolling(() => api<IncidentDetail>('GET', path), [path]);
  return (
    <section>
      <p>
        <a href={href('incidents')}>← Incidents</a>
      </p>
      <Loadable data={detail.data} error={detail.error} what="Incident">
        {(incident) => <IncidentView incident={incident} refresh={detail.refresh} />}
      </Loadable>
    </section>
  );
}

function IncidentView({ incident, refresh }: { incident: IncidentDetail; refresh: () => Promise<void> }) {
  const action = useAction();
  const [resolving, setResolving] = useState(false);
  const defenderUrl = safeHref(incident.webUrl);
  return (
    <>
      <header class="alert-head">
        <h1 data-testid="incident-title">{nameOf(incident)}</h1>
        <div class="chips">
          <StatusBadge status={incident.status} />
          <span class="badge">{`${incident.alertCount} alerts: ${alertsLine(incident)}`}</span>
        </div>
      </header>
      <div class="toolbar" data-testid="incident-actions">
        {incident.status !== 'resolved' && !resolving && (
          <button type="button" disabled={action.busy} onClick={() => setResolving(true)}>
            Resolve incident
          </button>
        )}
        {resolving && (
          <ResolveForm
            submitLabel="Resolve every alert"
            busy={action.busy}
            onSubmit={async (resolution) => {
              const done = await action.run(() =>
                api('POST', `/api/incidents/${incident.id}/status`, { status: 'resolved', ...resolution }),
              );
              if (done) setResolving(false);
              await refresh();
            }}
            onCancel={() => setResolving(false)}
          />
        )}
        <ErrorLine message={action.error} />
      </div>
      <div class="card" data-testid="incident-defender">
        <h2>In Defender</h2>
        <p>
          {`Status ${incident.defender.status ?? 'not read yet'}`}
          {incident.defender.classification !== null && `, ${incident.defender.classification}`}
          {incident.defender.determination !== null && ` (${incident.defender.determination})`}
          {incident.defender.assignedTo !== null && `, assigned to ${incident.defender.assignedTo}`}
          {incident.defender.lastUpdateAt !== null && `; updated ${when(incident.defender.lastUpdateAt)}`}
        </p>
        {incident.writeBackError !== null && <p class="error">{incident.writeBackError}</p>}
        {defenderUrl !== null && (
          <p>
            <a href={defenderUrl} target="_blank" rel="noreferrer">
              Open in Microsoft Defender
            </a>
          </p>
        )}
      </div>
      <h2>Alerts</h2>
      <table class="alerts" data-testid="incident-alerts">
        <thead>
          <tr>
            <th>#</th>
            <th>Severity</th>
            <th>Title</th>
            <th>Status</th>
            <th>Classification</th>
          </tr>
        </thead>
        <tbody>
          {incident.alerts.map((alert) => (
            <tr key={alert.id} data-alert-id={alert.id}>
              <td>{alert.number}</td>
              <td>
                <SeverityBadge severity={alert.severity} />
              </td>
              <td>
                <a href={href('alerts', alert.id)}>{alert.title}</a>
              </td>
              <td>
                <StatusBadge status={alert.status} />
              </td>
              <td>{alert.classification === null ? '' : CLASSIFICATION_LABELS[alert.classification]}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
