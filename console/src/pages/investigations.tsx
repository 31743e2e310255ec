import { useMemo } from 'preact/hooks';
import { api } from '../api';
import { EntityGraph, type GraphEdge, type GraphNode } from '../components/entity-graph';
import { Loadable } from '../components/status';
import { actorLabel, humanize, when } from '../format';
import { usePolling } from '../hooks';
import { href } from '../route';
import type { Entity, Investigation } from '../types';
import { ActionTable } from './actions';

/** The investigations list, where this Vigil has one; otherwise they are reached from their alerts. */
export function InvestigationsPage() {
  const list = usePolling(
    () => api<{ investigations: Investigation[] } | Investigation[]>('GET', '/api/investigations'),
    [],
    5000,
  );
  return (
    <section>
      <h1>Investigations</h1>
      <p class="muted">An investigation starts from an alert (its Investigate button) or from a policy.</p>
      <Loadable data={list.data} error={list.error} what="The list of investigations">
        {(data) => {
          const items = Array.isArray(data) ? data : data.investigations;
          return items.length === 0 ? (
            <p class="muted">No investigations yet.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>#</th>
                  <th>Status</th>
                  <th>Started by</th>
                  <th>Started</th>
                </tr>
              </thead>
              <tbody>
                {items.map((item) => (
                  <tr key={item.id}>
                    <td>
                      <a href={href('investigations', item.id)}>{item.number ?? item.id.slice(0, 8)}</a>
                    </td>
                    <td>{humanize(item.status)}</td>
                    <td>{actorLabel(item.startedBy)}</td>
                    <td>{when(item.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          );
        }}
      </Loadable>
    </section>
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
        </p>
      )}
      <EntityGraph nodes={graph.nodes} edges={graph.edges} />
      <h2>Pending actions</h2>
      <ActionTable actions={investigation.pendingActions ?? investigation.actions ?? []} onDone={refresh} />
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
