import { useState } from 'preact/hooks';
import { api, download } from '../api';
import { ErrorLine, Loadable } from '../components/status';
import { Tabs } from '../components/tabs';
import { EXCEPTION_REASONS, humanize, safeHref, when } from '../format';
import { useAction, usePolling } from '../hooks';
import { href } from '../route';
import type { Remediation } from '../types';

type Tab = 'active' | 'completed' | 'exceptions';

const TABS: Record<Tab, { label: string; query: string }> = {
  active: { label: 'Active', query: '?status=open,in_progress,overdue' },
  completed: { label: 'Completed', query: '?status=completed' },
  exceptions: { label: 'Exceptions', query: '?view=exceptions' },
};

const unwrap = (body: { remediations: Remediation[] } | Remediation[]): Remediation[] =>
  Array.isArray(body) ? body : body.remediations;

/** Remediation activity: active tickets, completed ones, exceptions, and the CSV export. */
export function RemediationsPage() {
  const [tab, setTab] = useState<Tab>('active');
  const path = `/api/remediations${TABS[tab].query}`;
  const list = usePolling(async () => unwrap(await api('GET', path)), [path], 4000);
  const exporting = useAction();
  return (
    <section>
      <h1>Remediation activity</h1>
      <Tabs tabs={TABS} selected={tab} onSelect={setTab}>
        <span class="spacer" />
        <button
          type="button"
          disabled={exporting.busy}
          // A plain link would not carry the bearer token, so the file is fetched and handed over.
          onClick={() =>
            void exporting.run(() =>
              download(`/api/remediations.csv${TABS[tab].query}`, `vigil-remediations-${tab}.csv`),
            )
          }
        >
          Export CSV
        </button>
      </Tabs>
      <ErrorLine message={exporting.error} />
      <Loadable data={list.data} error={list.error} what="Remediations">
        {(items) =>
          items.length === 0 ? (
            <p class="muted">Nothing here.</p>
          ) : (
            <table data-testid="remediations">
              <thead>
                <tr>
                  <th>What</th>
                  <th>Priority</th>
                  <th>Status</th>
                  <th>Devices</th>
                  <th>Due</th>
                  <th>Ticket</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {items.map((item) => (
                  <RemediationRow key={item.id} item={item} onDone={list.refresh} />
                ))}
              </tbody>
            </table>
          )
        }
      </Loadable>
    </section>
  );
}

function RemediationRow({ item, onDone }: { item: Remediation; onDone: () => Promise<void> }) {
  const action = useAction();
  const [filing, setFiling] = useState(false);
  const [completing, setCompleting] = useState(false);
  const [comment, setComment] = useState('');
  const [reason, setReason] = useState('compensating_control');
  const [justification, setJustification] = useState('');
  // An exception holds until a date; a month is the usual first grace period.
  const [expires, setExpires] = useState(() =>
    new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10),
  );
  const open = item.status !== 'completed' && item.status !== 'exception';
  const post = async (verb: 'complete' | 'exception', body: Record<string, unknown>) => {
    if (
      await action.run(() => api('POST', `/api/remediations/${encodeURIComponent(item.id)}/${verb}`, body))
    ) {
      setFiling(false);
      setCompleting(false);
    }
    await onDone();
  };
  const ticket = safeHref(item.ticket?.url);
  return (
    <tr data-remediation-id={item.id}>
      <td>
        <span class="muted">{item.number === undefined ? '' : `R-${item.number} `}</span>
        {item.recommendation ?? item.id}
        {item.alertId ? (
          <>
            {' '}
            <a href={href('alerts', item.alertId)} class="small">
              alert
            </a>
          </>
        ) : null}
        {item.exception ? (
          <div class="muted small">
            {`Exception: ${EXCEPTION_REASONS[item.exception.reason] ?? humanize(item.exception.reason)}`}
            {item.exception.justification ? ` — ${item.exception.justification}` : ''}
            {item.exception.expiresAt ? ` (until ${when(item.exception.expiresAt)})` : ''}
          </div>
        ) : null}
        {item.status === 'completed' && (item.completedBy || item.completionComment) ? (
          <div class="muted small" data-testid="completion">
            {`Completed${item.completedBy ? ` by ${item.completedBy}` : ''}`}
            {item.completionComment ? `: ${item.completionComment}` : ''}
          </div>
        ) : null}
      </td>
      <td>{humanize(item.priority)}</td>
      <td>
        <span class="badge">{humanize(item.status)}</span>
      </td>
      <td>{`${item.deviceCount ?? '—'}${item.devicesLeft ? ` (+${item.devicesLeft} to send)` : ''}`}</td>
      <td>{when(item.completedAt ?? item.dueAt)}</td>
      <td>
        {ticket === null ? (
          (item.ticket?.externalId ?? item.ticket?.connector ?? '—')
        ) : (
          <a href={ticket} target="_blank" rel="noopener noreferrer">
            {item.ticket?.externalId ?? 'ticket'}
          </a>
        )}
      </td>
      <td class="row-actions">
        {open && !filing && !completing && (
          <>
            <button type="button" disabled={action.busy} onClick={() => setCompleting(true)}>
              Complete
            </button>{' '}
            <button type="button" disabled={action.busy} onClick={() => setFiling(true)}>
              File exception
            </button>
          </>
        )}
        {completing && (
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void post('complete', comment.trim() === '' ? {} : { comment: comment.trim() });
            }}
          >
            <input
              name="comment"
              placeholder="How was it fixed? (optional)"
              value={comment}
              onInput={(event) => setComment(event.currentTarget.value)}
            />{' '}
            <button type="submit" class="primary" disabled={action.busy}>
              Mark completed
            </button>{' '}
            <button type="button" onClick={() => setCompleting(false)}>
              Cancel
            </button>
          </form>
        )}
        {filing && (
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void post('exception', {
                reason,
                justification: justification.trim(),
                expiresAt: new Date(`${expires}T23:59:59Z`).toISOString(),
              });
            }}
          >
            <select name="reason" value={reason} onChange={(event) => setReason(event.currentTarget.value)}>
              {Object.entries(EXCEPTION_REASONS).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>{' '}
            <input
              name="justification"
              required
              placeholder="Justification"
              value={justification}
              onInput={(event) => setJustification(event.currentTarget.value)}
            />{' '}
            <input
              name="expiresAt"
              type="date"
              required
              aria-label="Until"
              value={expires}
              onInput={(event) => setExpires(event.currentTarget.value)}
            />{' '}
            <button type="submit" disabled={action.busy}>
              File
            </button>{' '}
            <button type="button" onClick={() => setFiling(false)}>
              Cancel
            </button>
          </form>
        )}
        <ErrorLine message={action.error} />
      </td>
    </tr>
  );
}
