import { useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorLine, Loadable } from '../components/status';
import { humanize, when } from '../format';
import { useAction, usePolling } from '../hooks';
import { href } from '../route';
import type { Action } from '../types';

/** A pending action's target, whatever shape the API gives it. */
function targetOf(action: Action): string {
  if (action.entity) return action.entity.displayName ?? `${action.entity.kind}:${action.entity.key}`;
  if (typeof action.target === 'string') return action.target;
  if (action.target && typeof action.target === 'object') {
    const target = action.target as Record<string, unknown>;
    const name = target.displayName ?? target.name ?? target.key ?? target.id;
    if (typeof name === 'string') return name;
  }
  return '—';
}

/** Who decided so far (two-person approval records the first approval and waits). */
function decisionNote(action: Action): string {
  const decisions = action.decisions ?? [];
  const shown = decisions.map(
    (item) =>
      `${item.decision === 'approve' ? 'approved' : 'rejected'} by ${item.approverKey}${item.reason ? `: ${item.reason}` : ''}`,
  );
  if (action.error) shown.push(`failed: ${action.error}`);
  return shown.join('; ');
}

/**
 * Approve and Reject: `POST /api/actions/:id/approve|reject`, the routes that run the same
 * domain command as the chat buttons. A rejection needs a reason, for the audit trail.
 */
export function ActionRow({ action, onDone }: { action: Action; onDone: () => Promise<void> }) {
  const run = useAction();
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const pending =
    action.status === undefined || action.status === 'pending' || action.status === 'pending_approval';
  const decide = async (verb: 'approve' | 'reject', body: Record<string, unknown>) => {
    if (await run.run(() => api('POST', `/api/actions/${encodeURIComponent(action.id)}/${verb}`, body))) {
      setRejecting(false);
    }
    await onDone();
  };
  return (
    <tr data-action-id={action.id}>
      <td>
        {action.title ?? humanize(action.kind ?? action.type)}
        {action.reason ? <div class="muted small">{action.reason}</div> : null}
      </td>
      <td>{targetOf(action)}</td>
      <td>
        <span class="badge" data-status={action.status}>
          {humanize(action.status ?? 'pending')}
        </span>
        {decisionNote(action) !== '' && <div class="muted small">{decisionNote(action)}</div>}
      </td>
      <td>
        {action.investigationId ? (
          <a href={href('investigations', action.investigationId)}>Investigation</a>
        ) : action.alertId ? (
          <a href={href('alerts', action.alertId)}>Alert</a>
        ) : (
          '—'
        )}
      </td>
      <td>{when(action.requestedAt ?? action.createdAt)}</td>
      <td class="row-actions">
        {pending && !rejecting && (
          <>
            <button
              type="button"
              class="primary"
              disabled={run.busy}
              onClick={() => void decide('approve', {})}
            >
              Approve
            </button>{' '}
            <button type="button" class="danger" disabled={run.busy} onClick={() => setRejecting(true)}>
              Reject
            </button>
          </>
        )}
        {rejecting && (
          <form
            onSubmit={(event) => {
              event.preventDefault();
              if (reason.trim() !== '') void decide('reject', { reason: reason.trim() });
            }}
          >
            <input
              name="reason"
              required
              placeholder="Why not?"
              value={reason}
              onInput={(event) => setReason(event.currentTarget.value)}
            />{' '}
            <button type="submit" class="danger" disabled={run.busy || reason.trim() === ''}>
              Reject
            </button>{' '}
            <button type="button" onClick={() => setRejecting(false)}>
              Cancel
            </button>
          </form>
        )}
        <ErrorLine message={run.error} />
      </td>
    </tr>
  );
}

export function ActionTable({
  actions,
  onDone,
}: {
  actions: readonly Action[];
  onDone: () => Promise<void>;
}) {
  if (actions.length === 0) return <p class="muted">No actions.</p>;
  return (
    <table data-testid="actions">
      <thead>
        <tr>
          <th>Action</th>
          <th>Target</th>
          <th>Status</th>
          <th>From</th>
          <th>Requested</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {actions.map((action) => (
          <ActionRow key={action.id} action={action} onDone={onDone} />
        ))}
      </tbody>
    </table>
  );
}

/** Pending remediation actions that wait for an approver. */
export function ActionsPage() {
  // The API lists actions waiting for approval unless asked for other statuses.
  const actions = usePolling(() => api<{ actions: Action[] } | Action[]>('GET', '/api/actions'), []);
  return (
    <section>
      <h1>Pending actions</h1>
      <Loadable data={actions.data} error={actions.error} what="Pending actions">
        {(data) => (
          <ActionTable actions={Array.isArray(data) ? data : data.actions} onDone={actions.refresh} />
        )}
      </Loadable>
    </section>
  );
}
