import { api } from '../api';
import { Loadable } from '../components/status';
import { actorLabel, humanize, when } from '../format';
import { usePolling } from '../hooks';
import { href } from '../route';
import type { Actor } from '../types';
import type { PolicyDetail } from './policy';

interface ChatRoute {
  id: string;
  platform: string;
  channel: string;
  sources: string[];
  minSeverity: string | null;
  labels: Record<string, string>;
}

/**
 * Where alerts go and what happens to them: the chat routes (`GET /api/routes`), the Vigil
 * policies in the order they are matched (each opens its page, with its versions and an editor),
 * and the silences.
 */
export function PoliciesPage() {
  const routes = usePolling(() => api<{ routes: ChatRoute[] }>('GET', '/api/routes'), [], 10_000);
  return (
    <section>
      <h1>Policies</h1>
      <h2>Alert routes</h2>
      <p class="muted">
        Which chat channel gets which alerts, first match wins. Managed with <code>/vigil route</code> in
        Slack or the <code>/api/routes</code> API.
      </p>
      <Loadable data={routes.data} error={routes.error} what="Alert routes">
        {(data) =>
          data.routes.length === 0 ? (
            <p class="muted">No routes: alerts go to the default channel.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>Platform</th>
                  <th>Channel</th>
                  <th>Sources</th>
                  <th>Minimum severity</th>
                  <th>Labels</th>
                </tr>
              </thead>
              <tbody>
                {data.routes.map((route) => (
                  <tr key={route.id}>
                    <td>{humanize(route.platform)}</td>
                    <td class="mono">{route.channel}</td>
                    <td>{route.sources.join(', ') || 'any'}</td>
                    <td>{route.minSeverity ?? 'any'}</td>
                    <td>
                      {Object.entries(route.labels)
                        .map(([key, value]) => `${key}=${value}`)
                        .join(', ') || '—'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loadable>
      <h2>Vigil policies</h2>
      <VigilPolicies />
      <h2>Silences</h2>
      <Silences />
    </section>
  );
}

/** The policies that act on new alerts, in the order they are matched; each opens its page. */
function VigilPolicies() {
  const policies = usePolling(() => api<{ policies: PolicyDetail[] }>('GET', '/api/policies'), [], 10_000);
  return (
    <Loadable data={policies.data} error={policies.error} what="Policies">
      {(data) =>
        data.policies.length === 0 ? (
          <p class="muted">
            No policies. Write them in a file and apply it with <code>vigil policies apply</code>.
          </p>
        ) : (
          <table data-testid="policies">
            <thead>
              <tr>
                <th>Name</th>
                <th>Version</th>
                <th>Enabled</th>
                <th>Description</th>
              </tr>
            </thead>
            <tbody>
              {data.policies.map((policy) => (
                <tr key={policy.id} data-policy-id={policy.id}>
                  <td>
                    <a href={href('policies', policy.id)}>{policy.name}</a>
                  </td>
                  <td>{policy.version}</td>
                  <td>{policy.enabled ? 'Yes' : 'No'}</td>
                  <td>{policy.description ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    </Loadable>
  );
}

interface Silence {
  id: string;
  labels: { name: string; op: string; value: string }[];
  entities: { kind?: string; key?: string }[];
  startsAt: string;
  endsAt: string;
  createdBy: Actor;
  comment: string;
  mutedCount: number;
}

/** Silences, active and past: what they match, when, who set them and how many alerts they muted. */
function Silences() {
  const silences = usePolling(
    () => api<{ silences: Silence[] }>('GET', '/api/silences?all=true'),
    [],
    10_000,
  );
  return (
    <Loadable data={silences.data} error={silences.error} what="Silences">
      {(data) =>
        data.silences.length === 0 ? (
          <p class="muted">
            No silences. Set one with <code>/vigil silence</code> in Slack or the <code>/api/silences</code>{' '}
            API.
          </p>
        ) : (
          <table data-testid="silences">
            <thead>
              <tr>
                <th>Matches</th>
                <th>From</th>
                <th>Until</th>
                <th>Set by</th>
                <th>Comment</th>
                <th>Muted</th>
              </tr>
            </thead>
            <tbody>
              {data.silences.map((silence) => (
                <tr key={silence.id} data-silence-id={silence.id}>
                  <td class="mono">
                    {[
                      ...silence.labels.map((label) => `${label.name}${label.op}${label.value}`),
                      ...silence.entities.map((entity) => `${entity.kind ?? 'entity'}:${entity.key ?? '*'}`),
                    ].join(', ')}
                  </td>
                  <td>{when(silence.startsAt)}</td>
                  <td>{when(silence.endsAt)}</td>
                  <td>{actorLabel(silence.createdBy)}</td>
                  <td>{silence.comment}</td>
                  <td>{silence.mutedCount}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    </Loadable>
  );
}
