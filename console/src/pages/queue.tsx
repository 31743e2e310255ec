import { useState } from 'preact/hooks';
import { api } from '../api';
import { ShowMore } from '../components/show-more';
import { Loadable, SeverityBadge, StatusBadge } from '../components/status';
import { SEVERITIES, STATUS_LABELS, STATUSES, when } from '../format';
import { usePolling } from '../hooks';
import { href } from '../route';
import type { AlertPage, AlertStatus, Severity } from '../types';

function toggle<T>(list: readonly T[], value: T): T[] {
  return list.includes(value) ? list.filter((item) => item !== value) : [...list, value];
}

/** The alert queue: newest first, filtered by status, severity and source, refreshed every 2.5 s. */
export function QueuePage() {
  const [statuses, setStatuses] = useState<AlertStatus[]>(['new', 'in_progress']);
  const [severities, setSeverities] = useState<Severity[]>([]);
  const [source, setSource] = useState('');
  const [limit, setLimit] = useState(50);

  const query = new URLSearchParams({ limit: String(limit) });
  if (statuses.length > 0) query.set('status', statuses.join(','));
  if (severities.length > 0) query.set('severity', severities.join(','));
  if (source.trim() !== '') query.set('source', source.trim().toLowerCase());
  const path = `/api/alerts?${query}`;
  const page = usePolling(() => api<AlertPage>('GET', path), [path]);

  return (
    <section>
      <h1>Alert queue</h1>
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <fieldset>
          <legend>Status</legend>
          {STATUSES.map((status) => (
            <label key={status}>
              <input
                type="checkbox"
                name={`status-${status}`}
                checked={statuses.includes(status)}
                onChange={() => setStatuses(toggle(statuses, status))}
              />
              {STATUS_LABELS[status]}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Severity</legend>
          {SEVERITIES.map((severity) => (
            <label key={severity}>
              <input
                type="checkbox"
                name={`severity-${severity}`}
                checked={severities.includes(severity)}
                onChange={() => setSeverities(toggle(severities, severity))}
              />
              {severity}
            </label>
          ))}
        </fieldset>
        <label>
          Source
          <input
            name="source"
            placeholder="graph, alertmanager…"
            value={source}
            onChange={(event) => setSource(event.currentTarget.value)}
          />
        </label>
      </form>
      <Loadable data={page.data} error={page.error} what="Alerts">
        {(data) =>
          data.alerts.length === 0 ? (
            <p class="muted">No alerts match these filters.</p>
          ) : (
            <>
              <table class="alerts" data-testid="alert-queue">
                <thead>
                  <tr>
                    <th>#</th>
                    <th>Severity</th>
                    <th>Title</th>
                    <th>Status</th>
                    <th>Source</th>
                    <th>Seen</th>
                    <th>Last seen</th>
                  </tr>
                </thead>
                <tbody>
                  {data.alerts.map((alert) => (
                    <tr key={alert.id} data-alert-id={alert.id}>
                      <td>{alert.number}</td>
                      <td>
                        <SeverityBadge severity={alert.severity} />
                      </td>
                      <td>
                        <a href={href('alerts', alert.id)} class="alert-title">
                          {alert.title}
                        </a>
                      </td>
                      <td>
                        <StatusBadge status={alert.status} />
                      </td>
                      <td>{alert.source}</td>
                      <td>{`${alert.occurrenceCount}×`}</td>
                      <td>{when(alert.lastSeenAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {data.nextCursor !== null && (
                <ShowMore limit={limit} setLimit={setLimit}>
                  <span class="muted small">{`Showing the newest ${data.alerts.length}.`}</span>
                </ShowMore>
              )}
            </>
          )
        }
      </Loadable>
    </section>
  );
}
