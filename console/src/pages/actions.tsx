import { useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorLine, Loadable } from '../components/status';
import { Tabs } from '../components/tabs';
import { actorLabel, humanize, when } from '../format';
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

const isPending = (action: Action): boolean =>
  action.status === undefined || action.status === 'pending' || action.status === 'pending_approval';

/** Who decided, with their reasons (two-person approval records the first approval and waits). */
function Decisions({ action }: { action: Action }) {
  const decisions = action.decisions ?? [];
  if (decisions.length === 0) return <span class="muted">—</span>;
  return (
    <ul class="plain" data-testid="decisions">
      {decisions.map((item) => (
        <li key={`${item.approverKey}:${item.at}`}>
          {`${item.decision === 'approve' ? 'Approved' : 'Rejected'} by ${item.approver ? actorLabel(item.approver) : item.approverKey}`}
          <span class="muted small">{` ${when(item.at)}`}</span>
          {item.reason ? <div class="muted small">{item.reason}</div> : null}
        </li>
      ))}
    </ul>
  );
}

/** Done by `vigil demo`'s stand-in executor, which only says what it would have done. */
const simulated = (action: Action): boolean =>
  typeof action.result === 'object' &&
  action.result !== null &&
  (action.result as { simulated?: unknown }).simulated === true;

/** The outcome of an action, with the reason when it failed or was cancelled. */
function Outcome({ action }: { action: Action }) {
  return (
    <>
      <span class={`badge action-${action.status ?? 'pending'}`} data-status={action.status}>
        {humanize(action.status ?? 'pending')}
      </span>
      {isPending(action) && (action.approvalsNeeded ?? 1) > 1 && (
        <div class="muted small">{`needs ${action.approvalsNeeded} approvers`}</div>
      )}
      {action.error ? (
        <div class="small outcome-error" data-testid="action-error">
          {action.error}
        </div>
      ) : null}
      {simulated(action) && (
        <div class="muted small" data-testid="simulated">
          Simulated by the demo executor: nothing was changed anywhere.
        </div>
      )}
    </>
  );
}

/**
 * One action as a table row. Approve and Reject on a pending one: `POST /api/actions/:id/approve|reject`,
 * the routes that run the same domain command as the chat buttons. A rejection needs a reason.
 */
export function ActionRow({ action, onDone }: { action: Action; onDone: () => Promise<void> }) {
  const run = useAction();
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const decide = async (verb: 'approve' | 'reject', body: Record<string, unknown>) => {
    if (await run.run(() => api('POST', `/api/actions/${encodeURIComponent(action.id)}/${verb}`, body))) {
      setRejecting(false);
    }
    await onDone();
  };
  return (
    <tr data-action-id={action.id}>
      <td>
        <a href={href('actions', action.id)}>{action.title ?? humanize(action.kind ?? action.type)}</a>
        {action.reason ? <div class="muted small">{action.reason}</div> : null}
      </td>
      <td>{targetOf(action)}</td>
      <td>
        <Outcome action={action} />
      </td>
      <td>
        <Decisions action={action} />
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
        {isPending(action) && !rejecting && (
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
          <th>Outcome</th>
          <th>Decided by</th>
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

type Tab = 'pending' | 'history';

const TABS: Record<Tab, { label: string; query: string }> = {
  pending: { label: 'Pending approval', query: 'status=pending_approval' },
  // Decided and executed actions: what ran, what failed and why, what was rejected or cancelled.
  history: { label: 'History', query: 'status=approved,running,done,failed,rejected,cancelled' },
};

/** Remediation actions: those waiting for an approver, and the history of decided and executed ones. */
export function ActionsPage() {
  const [tab, setTab] = useState<Tab>('pending');
  const path = `/api/actions?${TABS[tab].query}`;
  const actions = usePolling(() => api<{ actions: Action[] }>('GET', path), [path]);
  return (
    <section>
      <h1>Actions</h1>
      <Tabs tabs={TABS} selected={tab} onSelect={setTab} />
      <Loadable data={actions.data} error={actions.error} what="Actions">
        {(data) => <ActionTable actions={data.actions} onDone={actions.refresh} />}
      </Loadable>
    </section>
  );
}

/** One action: what, on what, why, who asked and decided, and how it ended. */
export function ActionPage({ id }: { id: string }) {
  const path = `/api/actions/${encodeURIComponent(id)}`;
  const loaded = usePolling(() => api<{ action: Action }>('GET', path), [path]);
  return (
    <section>
      <p>
        <a href={href('actions')}>← Actions</a>
      </p>
      <Loadable data={loaded.data} error={loaded.error} what="Action">
        {({ action }) => (
          <>
            <header class="alert-head">
              <h1>{`${humanize(action.kind)} ${targetOf(action)}`}</h1>
              <Outcome action={action} />
            </header>
            <dl class="facts">
              <dt>Why</dt>
              <dd>{action.reason ?? '—'}</dd>
              <dt>Requested by</dt>
              <dd>{actorLabel(action.requestedBy)}</dd>
              <dt>Requested</dt>
              <dd>{when(action.createdAt)}</dd>
              <dt>Last change</dt>
              <dd>{when(action.updatedAt)}</dd>
              <dt>Investigation</dt>
              <dd>
                {action.investigationId ? (
                  <a href={href('investigations', action.investigationId)}>Open</a>
                ) : (
                  '—'
                )}
              </dd>
            </dl>
            <ActionTable actions={[action]} onDone={loaded.refresh} />
          </>
        )}
      </Loadable>
    </section>
  );
}
