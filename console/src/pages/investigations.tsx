import { useMemo, useState } from 'preact/hooks';
import { api } from '../api';
import { EntityGraph, type GraphEdge, type GraphNode } from '../components/entity-graph';
import { ErrorLine, Loadable, SeverityBadge } from '../components/status';
import { Tabs } from '../components/tabs';
import { actorLabel, humanize, when } from '../format';
import { useAction, usePolling } from '../hooks';
import { href } from '../route';
import type { Entity, Investigation, InvestigationListItem, InvestigationListPage } from '../types';
import { ActionTable } from './actions';

const OPEN_STATUSES = ['queued', 'running', 'pending_approval'];
const ALL_STATUSES = [
  ...OPEN_STATUSES,
  'remediated',
  'partially_remediated',
  'no_threats_found',
  'failed',
  'terminated',
];
const ENTITY_KINDS = ['user', 'device', 'app', 'file', 'process', 'ip', 'url', 'mailbox'];

type View = 'active' | 'all';
const VIEWS: Record<View, { label: string }> = {
  active: { label: 'Active investigations' },
  all: { label: 'All investigations' },
};

/** An investigation's status, and beside it what a person should know: actions waiting, actions failed. */
function StatusCell({ item }: { item: InvestigationListItem }) {
  return (
    <>
      <span class={`badge investigation-${item.status}`} data-status={item.status}>
        {humanize(item.status)}
      </span>
      {item.failedActionCount > 0 && (
        <div class="small outcome-error">{`${item.failedActionCount} action${item.failedActionCount === 1 ? '' : 's'} failed`}</div>
      )}
    </>
  );
}

/**
 * The investigations list (Microsoft's "Automated investigations" view): active ones by default,
 * filtered by status, triggering alert, entity and start time, newest first, a page at a time.
 */
export function InvestigationsPage() {
  const [view, setView] = useState<View>('active');
  const [statuses, setStatuses] = useState<string[]>([]);
  const [alertRef, setAlertRef] = useState('');
  const [entityKind, setEntityKind] = useState('user');
  const [entityKey, setEntityKey] = useState('');
  const [after, setAfter] = useState('');
  const [before, setBefore] = useState('');
  // Cursors of the pages before this one: "Newer" pops, "Older" pushes.
  const [cursors, setCursors] = useState<string[]>([]);

  const query = new URLSearchParams({ limit: '50' });
  const chosen = view === 'active' ? statuses.filter((status) => OPEN_STATUSES.includes(status)) : statuses;
  if (chosen.length > 0) query.set('status', chosen.join(','));
  else if (view === 'active') query.set('status', 'active');
  if (alertRef.trim() !== '') query.set('triggerAlert', alertRef.trim().replace(/^#/, ''));
  if (entityKey.trim() !== '') {
    query.set('entityKind', entityKind);
    query.set('entityKey', entityKey.trim());
  }
  if (after !== '') query.set('createdAfter', new Date(after).toISOString());
  if (before !== '') query.set('createdBefore', new Date(before).toISOString());
  const cursor = cursors.at(-1);
  if (cursor !== undefined) query.set('cursor', cursor);
  const path = `/api/investigations?${query}`;
  const list = usePolling(() => api<InvestigationListPage>('GET', path), [path], 5000);
  // A changed filter starts from the newest again.
  const filtered =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      setCursors([]);
      set(value);
    };

  return (
    <section>
      <h1>Investigations</h1>
      <p class="muted">An investigation starts from an alert (its Investigate button), a rule or a policy.</p>
      <Tabs tabs={VIEWS} selected={view} onSelect={filtered(setView)} />
      <form class="filters" data-testid="investigation-filters" onSubmit={(event) => event.preventDefault()}>
        <fieldset>
          <legend>Status</legend>
          {(view === 'active' ? OPEN_STATUSES : ALL_STATUSES).map((status) => (
            <label key={status}>
              <input
                type="checkbox"
                name={`status-${status}`}
                checked={statuses.includes(status)}
                onChange={() =>
                  filtered(setStatuses)(
                    statuses.includes(status)
                      ? statuses.filter((item) => item !== status)
                      : [...statuses, status],
                  )
                }
              />
              {humanize(status)}
            </label>
          ))}
        </fieldset>
        <label>
          Triggering alert
          <input
            name="triggerAlert"
            placeholder="#42"
            size={8}
            value={alertRef}
            onChange={(event) => filtered(setAlertRef)(event.currentTarget.value)}
          />
        </label>
        <label>
          Entity
          <select
            name="entityKind"
            value={entityKind}
            onChange={(event) => filtered(setEntityKind)(event.currentTarget.value)}
          >
            {ENTITY_KINDS.map((kind) => (
              <option key={kind} value={kind}>
                {humanize(kind)}
              </option>
            ))}
          </select>
          <input
            name="entityKey"
            placeholder="adele@contoso.com"
            value={entityKey}
            onChange={(event) => filtered(setEntityKey)(event.currentTarget.value)}
          />
        </label>
        <label>
          Started after
          <input
            name="createdAfter"
            type="datetime-local"
            value={after}
            onChange={(event) => filtered(setAfter)(event.currentTarget.value)}
          />
        </label>
        <label>
          Started before
          <input
            name="createdBefore"
            type="datetime-local"
            value={before}
            onChange={(event) => filtered(setBefore)(event.currentTarget.value)}
          />
        </label>
      </form>
      <Loadable data={list.data} error={list.error} what="The list of investigations">
        {(data) =>
          data.investigations.length === 0 ? (
            <p class="muted">
              {view === 'active' ? 'No active investigations.' : 'No investigations match these filters.'}
            </p>
          ) : (
            <>
              <table data-testid="investigations">
                <thead>
                  <tr>
                    <th>#</th>
                    <th>Triggering alert</th>
                    <th>Status</th>
                    <th>Alerts</th>
                    <th>Entities</th>
                    <th>Pending actions</th>
                    <th>Started by</th>
                    <th>Started</th>
                  </tr>
                </thead>
                <tbody>
                  {data.investigations.map((item) => (
                    <tr key={item.id} data-investigation-id={item.id}>
                      <td>
                        <a href={href('investigations', item.id)}>{item.number}</a>
                      </td>
                      <td>
                        <SeverityBadge severity={item.triggerAlert.severity} />{' '}
                        <a href={href('alerts', item.triggerAlert.id)}>
                          <span class="muted">{`#${item.triggerAlert.number} `}</span>
                          {item.triggerAlert.title}
                        </a>
                      </td>
                      <td>
                        <StatusCell item={item} />
                      </td>
                      <td>{item.alertCount}</td>
                      <td>{item.entityCount}</td>
                      <td data-testid="pending-count">{item.pendingActionCount}</td>
                      <td>{actorLabel(item.startedBy)}</td>
                      <td>{when(item.createdAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p>
                <button
                  type="button"
                  disabled={cursors.length === 0}
                  onClick={() => setCursors(cursors.slice(0, -1))}
                >
                  Newer
                </button>{' '}
                <button
                  type="button"
                  disabled={data.nextCursor === null}
                  onClick={() => data.nextCursor !== null && setCursors([...cursors, data.nextCursor])}
                >
                  Older
                </button>
              </p>
            </>
          )
        }
      </Loadable>
    </section>
  );
}

/**
 * Terminate: `POST /api/investigations/:id/terminate`, asked twice on the page (no browser
 * dialog): the investigation stops for good and its actions that have not run are cancelled.
 */
function TerminateButton({
  investigation,
  refresh,
}: {
  investigation: Investigation;
  refresh: () => Promise<void>;
}) {
  const run = useAction();
  const [confirming, setConfirming] = useState(false);
  if (!OPEN_STATUSES.includes(investigation.status)) return null;
  const terminate = async () => {
    await run.run(() =>
      api('POST', `/api/investigations/${encodeURIComponent(investigation.id)}/terminate`, {}),
    );
    setConfirming(false);
    await refresh();
  };
  return (
    <div class="toolbar" data-testid="terminate">
      {confirming ? (
        <>
          <span>Stop this investigation for good? Its actions that have not run are cancelled.</span>{' '}
          <button type="button" class="danger" disabled={run.busy} onClick={() => void terminate()}>
            Terminate investigation
          </button>{' '}
          <button type="button" onClick={() => setConfirming(false)}>
            Keep it running
          </button>
        </>
      ) : (
        <button type="button" class="danger" onClick={() => setConfirming(true)}>
          Terminate
        </button>
      )}
      <ErrorLine message={run.error} />
    </div>
  );
}

/** Alerts, entities and findings as one graph: the API's own graph where it gives one. */
function graphOf(investigation: Investigation): { nodes: GraphNode[]; edges: GraphEdge[] } {
  if (investigation.graph !== undefined && investigation.graph.nodes.length > 0) {
    return {
      nodes: investigation.graph.nodes.map((node) => ({
        id: node.id,
        label: node.label,
        kind: node.type === 'alert' ? 'alert' : (node.kind ?? node.type),
        verdict: node.verdict,
      })),
      edges: investigation.graph.edges,
    };
  }
  const root = `investigation:${investigation.id}`;
  const nodes: GraphNode[] = [
    { id: root, kind: 'investigation', label: `Investigation ${investigation.number ?? ''}`.trim() },
  ];
  const edges: GraphEdge[] = [];
  const seen = new Set([root]);
  const add = (node: GraphNode) => {
    if (!seen.has(node.id)) {
      seen.add(node.id);
      nodes.push(node);
    }
  };
  const entityId = (entity: { kind: string; key: string }) => `entity:${entity.kind}:${entity.key}`;
  for (const alert of investigation.alerts ?? []) {
    const id = `alert:${alert.id}`;
    add({ id, kind: 'alert', label: alert.title ?? `Alert ${alert.number ?? ''}` });
    edges.push({ from: root, to: id });
    for (const entity of (alert as { entities?: Entity[] }).entities ?? []) {
      add({ id: entityId(entity), kind: entity.kind, label: entity.displayName || entity.key });
      edges.push({ from: id, to: entityId(entity) });
    }
  }
  const linkedToAlert = new Set(edges.map((edge) => edge.to));
  for (const entity of investigation.entities ?? []) {
    const id = entityId(entity);
    add({ id, kind: entity.kind, label: entity.displayName || entity.key, verdict: entity.verdict });
    // Keep the verdict when the alert added the node first.
    const index = nodes.findIndex((node) => node.id === id);
    if (index >= 0 && entity.verdict !== undefined)
      nodes[index] = { ...(nodes[index] as GraphNode), verdict: entity.verdict };
    if (!linkedToAlert.has(id)) edges.push({ from: root, to: id });
  }
  (investigation.findings ?? []).forEach((finding, index) => {
    const id = `finding:${finding.key ?? index}`;
    add({ id, kind: 'finding', label: finding.title, verdict: finding.verdict });
    edges.push({ from: finding.entity ? entityId(finding.entity) : root, to: id });
  });
  return { nodes, edges: edges.filter((edge) => seen.has(edge.from) && seen.has(edge.to)) };
}

function EntityTable({ entities, title }: { entities: readonly Entity[]; title: string }) {
  if (entities.length === 0) return null;
  return (
    <>
      <h3>{title}</h3>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Identity</th>
            <th>Verdict</th>
            <th>Why</th>
          </tr>
        </thead>
        <tbody>
          {entities.map((entity) => (
            <tr key={`${entity.kind}:${entity.key}`}>
              <td>{entity.displayName}</td>
              <td class="mono">{entity.key}</td>
              <td>
                <span class={`badge verdict-${entity.verdict ?? 'unknown'}`}>
                  {humanize(entity.verdict ?? 'unknown')}
                </span>
              </td>
              <td>{entity.why ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function InvestigationView({
  investigation,
  refresh,
}: {
  investigation: Investigation;
  refresh: () => Promise<void>;
}) {
  const graph = useMemo(() => graphOf(investigation), [investigation]);
  const entities = investigation.entities ?? [];
  const byKind = (kinds: readonly string[]) => entities.filter((entity) => kinds.includes(entity.kind));
  return (
    <>
      <header class="alert-head">
        <h1>{`Investigation ${investigation.number ?? investigation.id}`}</h1>
        <span class="badge" data-testid="investigation-status">
          {humanize(investigation.status)}
        </span>
      </header>
      {investigation.startedBy !== undefined && (
        <p class="muted">
          {`Started by ${actorLabel(investigation.startedBy)}, ${when(investigation.createdAt)}; updated ${when(investigation.updatedAt)}.`}
          {investigation.triggerAlertId !== undefined && (
            <>
              {' '}
              <a href={href('alerts', investigation.triggerAlertId)}>Triggering alert</a>
            </>
          )}
        </p>
      )}
      <TerminateButton investigation={investigation} refresh={refresh} />
      <EntityGraph nodes={graph.nodes} edges={graph.edges} />
      <h2>Actions</h2>
      <p class="muted small">Waiting for approval, and the history of decided and executed ones.</p>
      <ActionTable actions={investigation.actions ?? investigation.pendingActions ?? []} onDone={refresh} />
      <h2>Alerts</h2>
      {(investigation.alerts ?? []).length === 0 ? (
        <p class="muted">—</p>
      ) : (
        <ul>
          {(investigation.alerts ?? []).map((alert) => (
            <li key={alert.id}>
              <a href={href('alerts', alert.id)}>{alert.title ?? alert.id}</a>{' '}
              <span class="muted">{humanize(alert.status)}</span>
            </li>
          ))}
        </ul>
      )}
      <h2>Findings</h2>
      {(investigation.findings ?? []).length === 0 ? (
        <p class="muted">None yet.</p>
      ) : (
        <ul>
          {(investigation.findings ?? []).map((finding, index) => (
            <li key={finding.key ?? index}>
              <span class={`badge verdict-${finding.verdict ?? 'unknown'}`}>
                {humanize(finding.verdict ?? 'unknown')}
              </span>{' '}
              {finding.title}
            </li>
          ))}
        </ul>
      )}
      <h2>Entities</h2>
      <EntityTable title="Devices" entities={investigation.devices ?? byKind(['device'])} />
      <EntityTable title="Users" entities={investigation.users ?? byKind(['user', 'mailbox'])} />
      <EntityTable
        title="Other entities"
        entities={entities.filter((entity) => !['device', 'user', 'mailbox'].includes(entity.kind))}
      />
      <h2>Log</h2>
      {(investigation.log ?? []).length === 0 ? (
        <p class="muted">Nothing has run yet.</p>
      ) : (
        <ol class="audit">
          {(investigation.log ?? []).map((entry, index) => (
            <li key={index}>
              <span class="muted">{when(entry.endedAt ?? entry.startedAt ?? entry.at)}</span>{' '}
              <strong>{entry.stepKey ?? entry.message ?? 'step'}</strong>
              {entry.provider !== undefined && <span class="muted">{` (${entry.provider})`}</span>}{' '}
              {entry.outcome !== undefined && <span>{humanize(entry.outcome)}</span>}
              {entry.error ? <span class="muted">{` — ${entry.error}`}</span> : null}
            </li>
          ))}
        </ol>
      )}
    </>
  );
}

export function InvestigationPage({ id }: { id: string }) {
  const path = `/api/investigations/${encodeURIComponent(id)}`;
  const investigation = usePolling(async () => {
    const body = await api<Investigation | { investigation: Investigation }>('GET', path);
    return 'investigation' in body ? body.investigation : body;
  }, [path]);
  return (
    <section>
      <p>
        <a href={href('investigations')}>← Investigations</a>
      </p>
      <Loadable data={investigation.data} error={investigation.error} what="Investigation">
        {(data) => <InvestigationView investigation={data} refresh={investigation.refresh} />}
      </Loadable>
    </section>
  );
}
