import { type ComponentChildren, Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import { AdaptiveCardView } from '../components/adaptive-card';
import { SlackPreview } from '../components/slack-preview';
import { ErrorLine, Loadable, SeverityBadge, StatusBadge } from '../components/status';
import { actorLabel, CLASSIFICATION_LABELS, entityKindLabel, humanize, safeHref, when } from '../format';
import { useAction, usePolling } from '../hooks';
import { href } from '../route';
import type { AlertDetail, CardPreview, Classification, ListPage } from '../types';

/** One alert: its buttons, details, entities, investigations, audit trail and chat cards. */
export function AlertPage({ id }: { id: string }) {
  const path = `/api/alerts/${encodeURIComponent(id)}`;
  const detail = usePolling(() => api<AlertDetail>('GET', path), [path]);
  return (
    <section>
      <p>
        <a href={href('alerts')}>← Alert queue</a>
      </p>
      <Loadable data={detail.data} error={detail.error} what="Alert">
        {(alert) => <AlertView alert={alert} refresh={detail.refresh} />}
      </Loadable>
    </section>
  );
}

function AlertView({ alert, refresh }: { alert: AlertDetail; refresh: () => Promise<void> }) {
  return (
    <>
      <header class="alert-head">
        <h1 data-testid="alert-title">
          <span class="muted">{`#${alert.number} `}</span>
          {alert.title}
        </h1>
        <div class="chips">
          <SeverityBadge severity={alert.severity} />
          <StatusBadge status={alert.status} />
          {alert.classification !== null && (
            <span class="badge">{CLASSIFICATION_LABELS[alert.classification]}</span>
          )}
        </div>
      </header>
      <StatusButtons alert={alert} refresh={refresh} />
      <div class="columns">
        <div>
          <h2>Details</h2>
          {alert.description.trim() !== '' && <p class="description">{alert.description}</p>}
          <dl class="facts">
            <dt>Source</dt>
            <dd>{alert.sourceId === null ? alert.source : `${alert.source} (${alert.sourceId})`}</dd>
            <dt>Category</dt>
            <dd>{alert.category ?? '—'}</dd>
            <dt>Occurrences</dt>
            <dd>{alert.occurrenceCount}</dd>
            <dt>First seen</dt>
            <dd>{when(alert.firstSeenAt)}</dd>
            <dt>Last seen</dt>
            <dd>{when(alert.lastSeenAt)}</dd>
            <dt>Assignee</dt>
            <dd>{actorLabel(alert.assignee)}</dd>
            <dt>Status changed</dt>
            <dd>
              {alert.statusChangedBy === null
                ? '—'
                : `${actorLabel(alert.statusChangedBy)}, ${when(alert.statusChangedAt)}`}
            </dd>
            {alert.resolutionComment !== null && (
              <>
                <dt>Comment</dt>
                <dd>{alert.resolutionComment}</dd>
              </>
            )}
            {(alert.policyName !== null || alert.policyUrl !== null) && (
              <>
                <dt>Policy</dt>
                <dd>
                  <ExternalLink url={alert.policyUrl} text={alert.policyName ?? alert.policyUrl ?? ''} />
                </dd>
              </>
            )}
            {alert.vigilPolicy != null && (
              <>
                <dt>Vigil policy</dt>
                <dd>
                  <a href={href('policies', alert.vigilPolicy.id)}>{alert.vigilPolicy.name}</a>
                </dd>
              </>
            )}
            {Object.entries(alert.labels).map(([key, value]) => (
              <Fragment key={key}>
                <dt>{key}</dt>
                <dd>{value}</dd>
              </Fragment>
            ))}
          </dl>
          {alert.links.length > 0 && (
            <ul class="links">
              {alert.links.map((link) => (
                <li key={link.url}>
                  <ExternalLink url={link.url} text={link.title || link.url} />
                </li>
              ))}
            </ul>
          )}
          <h2>Entities</h2>
          <FullList alert={alert} list="entities">
            {(entities) => <EntityTable entities={entities} />}
          </FullList>
          <Investigations alert={alert} />
          <h2>Audit trail</h2>
          <FullList alert={alert} list="audit">
            {(audit) => <AuditList audit={audit} />}
          </FullList>
        </div>
        <div>
          <Cards alert={alert} />
        </div>
      </div>
    </>
  );
}

/**
 * The entities or audit trail of an alert as the detail answer carries them (the first entities,
 * the latest entries); when the API cut the list short, a button loads the whole of it.
 */
function FullList<K extends 'entities' | 'audit'>({
  alert,
  list,
  children,
}: {
  alert: AlertDetail;
  list: K;
  children: (items: AlertDetail[K]) => ComponentChildren;
}) {
  const [all, setAll] = useState<AlertDetail[K] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const truncated = list === 'entities' ? alert.entitiesTruncated === true : alert.auditTruncated === true;
  const loadAll = async () => {
    try {
      const items: unknown[] = [];
      let cursor: string | null = null;
      do {
        const query: string =
          cursor === null ? '?limit=500' : `?limit=500&cursor=${encodeURIComponent(cursor)}`;
        const page: ListPage = await api<ListPage>('GET', `/api/alerts/${alert.id}/${list}${query}`);
        items.push(...(page[list] ?? []));
        cursor = page.nextCursor;
      } while (cursor !== null);
      setAll(items as AlertDetail[K]);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    }
  };
  const shown = all ?? alert[list];
  return (
    <>
      {truncated && all === null && (
        <p class="muted" data-testid={`${list}-truncated`}>
          {list === 'entities'
            ? `Showing ${shown.length} of ${alert.entityCount ?? '?'} entities. `
            : `Showing the latest ${shown.length} entries. `}
          <button type="button" onClick={() => void loadAll()}>
            Show all
          </button>
        </p>
      )}
      {error !== null && <ErrorLine message={error} />}
      {children(shown)}
    </>
  );
}

function EntityTable({ entities }: { entities: AlertDetail['entities'] }) {
  return entities.length === 0 ? (
    <p class="muted">None reported.</p>
  ) : (
    <table>
      <thead>
        <tr>
          <th>Kind</th>
          <th>Name</th>
          <th>Identity</th>
          <th>Roles</th>
        </tr>
      </thead>
      <tbody>
        {entities.map((entity) => (
          <tr key={`${entity.kind}:${entity.key}`}>
            <td>{entityKindLabel(entity.kind)}</td>
            <td>{entity.displayName}</td>
            <td class="mono">{entity.key}</td>
            <td>{(entity.roles ?? []).join(', ')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function AuditList({ audit }: { audit: AlertDetail['audit'] }) {
  return (
    <ol class="audit" data-testid="audit-trail">
      {audit.map((entry) => (
        <li key={entry.id}>
          <span class="muted">{when(entry.at)}</span> <strong>{entry.actorKey}</strong>{' '}
          <span>{humanize(entry.action.replaceAll('.', ' '))}</span>
          {auditNote(entry.details) !== '' && <span class="muted">{` — ${auditNote(entry.details)}`}</span>}
        </li>
      ))}
    </ol>
  );
}

/** The few audit details worth a line: a refusal's reason, a move's from and to, why an action failed. */
function auditNote(details: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const key of [
    'from',
    'to',
    'classification',
    'kind',
    'target',
    'reason',
    'error',
    'message',
    'comment',
  ]) {
    const value = details[key];
    if (typeof value === 'string' && value !== '') parts.push(`${key}: ${value}`);
  }
  return parts.join(', ');
}

function ExternalLink({ url, text }: { url: string | null; text: string }) {
  const target = safeHref(url);
  return target === null ? (
    <span>{text}</span>
  ) : (
    <a href={target} target="_blank" rel="noopener noreferrer">
      {text}
    </a>
  );
}

/**
 * Mark in progress, Resolve (classification and comment) and Reopen: `POST /api/alerts/:id/status`,
 * the route that runs the same domain command as a chat button. `expectedVersion` makes a click
 * on a stale page fail with the API's message instead of undoing someone else's change.
 */
function StatusButtons({ alert, refresh }: { alert: AlertDetail; refresh: () => Promise<void> }) {
  const action = useAction();
  const [resolving, setResolving] = useState(false);
  const [classification, setClassification] = useState<Classification>('true_positive');
  const [comment, setComment] = useState('');

  const change = async (body: Record<string, unknown>) => {
    const done = await action.run(() =>
      api('POST', `/api/alerts/${alert.id}/status`, { ...body, expectedVersion: alert.version }),
    );
    if (done) setResolving(false);
    await refresh();
  };

  return (
    <div class="toolbar" data-testid="alert-actions">
      {alert.status === 'new' && (
        <button
          type="button"
          class="primary"
          disabled={action.busy}
          onClick={() => change({ status: 'in_progress' })}
        >
          Mark in progress
        </button>
      )}
      {alert.status !== 'resolved' && !resolving && (
        <button type="button" disabled={action.busy} onClick={() => setResolving(true)}>
          Resolve
        </button>
      )}
      {alert.status === 'resolved' && (
        <button type="button" disabled={action.busy} onClick={() => change({ status: 'new' })}>
          Reopen
        </button>
      )}
      {resolving && (
        <form
          class="resolve card"
          onSubmit={(event) => {
            event.preventDefault();
            void change({
              status: 'resolved',
              classification,
              ...(comment.trim() === '' ? {} : { comment: comment.trim() }),
            });
          }}
        >
          <label>
            Classification
            <select
              name="classification"
              value={classification}
              onChange={(event) => setClassification(event.currentTarget.value as Classification)}
            >
              {Object.entries(CLASSIFICATION_LABELS).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Comment
            <textarea
              name="comment"
              rows={2}
              value={comment}
              onInput={(event) => setComment(event.currentTarget.value)}
            />
          </label>
          <div>
            <button type="submit" class="primary" disabled={action.busy}>
              Resolve alert
            </button>{' '}
            <button type="button" onClick={() => setResolving(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <ErrorLine message={action.error} />
    </div>
  );
}

function Investigations({ alert }: { alert: AlertDetail }) {
  const action = useAction();
  const [started, setStarted] = useState<string | undefined>(undefined);
  const investigations = alert.investigations ?? [];
  const investigate = () =>
    action.run(async () => {
      const result = await api<{ investigationId?: string; investigation?: { id: string } }>(
        'POST',
        `/api/alerts/${alert.id}/investigate`,
        {},
      );
      setStarted(result.investigationId ?? result.investigation?.id);
    });
  return (
    <>
      <h2>Investigations</h2>
      {investigations.length === 0 ? (
        <p class="muted">None yet.</p>
      ) : (
        <ul>
          {investigations.map((investigation) => (
            <li key={investigation.id}>
              <a href={href('investigations', investigation.id)}>
                {`Investigation ${investigation.number ?? investigation.id}`}
              </a>{' '}
              <span class="muted">{humanize(investigation.status)}</span>
            </li>
          ))}
        </ul>
      )}
      {alert.status !== 'resolved' && (
        <button type="button" disabled={action.busy} onClick={() => void investigate()}>
          Investigate
        </button>
      )}
      {started !== undefined && (
        <p>
          <a href={href('investigations', started)}>Investigation started: open it</a>
        </p>
      )}
      <ErrorLine message={action.error} />
    </>
  );
}

/** The cards as chat shows them, from the preview route, and where Vigil posted them. */
function Cards({ alert }: { alert: AlertDetail }) {
  // The preview follows the alert: re-fetched whenever its version changes.
  const path = `/api/alerts/${alert.id}/cards/preview`;
  const preview = usePolling(() => api<CardPreview>('GET', path), [path, alert.version], 60_000);
  return (
    <>
      <h2>Cards</h2>
      {alert.cards.length === 0 ? (
        <p class="muted">Not posted to any chat yet.</p>
      ) : (
        <ul class="card-records">
          {alert.cards.map((card) => (
            <li key={`${card.platform}:${card.target}`}>
              <strong>{card.platform}</strong> <span class="mono">{card.target}</span>{' '}
              <span class={`badge card-${card.state}`}>{card.state}</span>
              {card.error !== null && <span class="muted">{` — ${card.error}`}</span>}
            </li>
          ))}
        </ul>
      )}
      <Loadable data={preview.data} error={preview.error} what="Card preview">
        {(cards) => (
          <>
            <h3>Microsoft Teams</h3>
            <AdaptiveCardView card={cards.teams} />
            <h3>Slack</h3>
            <SlackPreview blocks={cards.slack.blocks} />
          </>
        )}
      </Loadable>
      {preview.error instanceof ApiError && preview.error.status >= 500 && (
        <p class="muted small">The chat renderers failed on this alert; the server log says why.</p>
      )}
    </>
  );
}
