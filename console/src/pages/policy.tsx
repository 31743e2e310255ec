import { api } from '../api';
import { Loadable } from '../components/status';
import { when } from '../format';
import { usePolling } from '../hooks';
import { href } from '../route';

/** A Vigil policy as `GET /api/policies/:id` gives it. */
export interface PolicyDetail {
  id: string;
  name: string;
  version: number;
  enabled: boolean;
  description: string | null;
  conditions: unknown;
  actions: unknown;
  versions?: { version: number; change: string; changedBy: string; changedAt: string }[];
}

/** Conditions and actions as people wrote them (the policies file's shape), indented. */
const spec = (value: unknown): string => JSON.stringify(value, null, 2);

/**
 * One Vigil policy, read-only: what it matches, what it does, and its versions. Cards link here
 * ("View policy") when the policy acted on an alert; changes go through `vigil policies apply`
 * or `/api/policies`.
 */
export function PolicyPage({ id }: { id: string }) {
  const path = `/api/policies/${encodeURIComponent(id)}`;
  const policy = usePolling(() => api<PolicyDetail>('GET', path), [path], 10_000);
  return (
    <section>
      <p>
        <a href={href('policies')}>← Policies</a>
      </p>
      <Loadable data={policy.data} error={policy.error} what="Policy">
        {(data) => (
          <>
            <header class="alert-head">
              <h1 data-testid="policy-name">{data.name}</h1>
              <span class="badge">{`version ${data.version}`}</span>
              <span class="badge">{data.enabled ? 'Enabled' : 'Disabled'}</span>
            </header>
            {data.description !== null && <p class="description">{data.description}</p>}
            <h2>Conditions</h2>
            <pre class="spec">{spec(data.conditions)}</pre>
            <h2>Actions</h2>
            <pre class="spec">{spec(data.actions)}</pre>
            <h2>Versions</h2>
            <ol class="audit">
              {(data.versions ?? []).map((version) => (
                <li key={version.version}>
                  <span class="muted">{when(version.changedAt)}</span>{' '}
                  <strong>{`v${version.version}`}</strong> {`${version.change} by ${version.changedBy}`}
                </li>
              ))}
            </ol>
            <p class="muted small">
              Read-only here: change policies with <code>vigil policies apply</code> or the{' '}
              <code>/api/policies</code> API.
            </p>
          </>
        )}
      </Loadable>
    </section>
  );
}
