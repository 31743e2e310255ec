import { useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorLine, Loadable } from '../components/status';
import { lineDiff } from '../diff';
import { when } from '../format';
import { useAction, usePolling } from '../hooks';
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
  versions?: { version: number; change: string; changedBy: string; changedAt: string; spec: unknown }[];
}

/** Conditions and actions as people wrote them (the policies file's shape), indented. */
const spec = (value: unknown): string => JSON.stringify(value, null, 2);

/** The spec of a policy as the API takes it back (PUT /api/policies/:id): what an edit starts from. */
const editable = (policy: PolicyDetail): string =>
  spec({
    name: policy.name,
    ...(policy.description === null ? {} : { description: policy.description }),
    enabled: policy.enabled,
    conditions: policy.conditions,
    actions: policy.actions,
  });

/**
 * One Vigil policy: what it matches, what it does, every version with what changed from the one
 * before, and an editor. Cards link here ("View policy") when the policy acted on an alert. An
 * edit goes through `PUT /api/policies/:id`, which validates it as `vigil policies apply` does
 * and answers which fields are wrong.
 */
export function PolicyPage({ id }: { id: string }) {
  const path = `/api/policies/${encodeURIComponent(id)}`;
  const policy = usePolling(() => api<PolicyDetail>('GET', path), [path], 10_000);
  const [draft, setDraft] = useState<string | null>(null);
  const [parseError, setParseError] = useState<string | undefined>(undefined);
  const action = useAction();
  const save = async () => {
    let body: unknown;
    try {
      body = JSON.parse(draft ?? '');
    } catch (error) {
      setParseError(`Not JSON: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    setParseError(undefined);
    if (await action.run(() => api('PUT', path, body))) setDraft(null);
    await policy.refresh();
  };
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
            {draft === null ? (
              <>
                <h2>Conditions</h2>
                <pre class="spec">{spec(data.conditions)}</pre>
                <h2>Actions</h2>
                <pre class="spec">{spec(data.actions)}</pre>
                <p>
                  <button type="button" onClick={() => setDraft(editable(data))}>
                    Edit
                  </button>
                </p>
              </>
            ) : (
              <form
                data-testid="policy-editor"
                onSubmit={(event) => {
                  event.preventDefault();
                  void save();
                }}
              >
                <h2>Edit</h2>
                <p class="muted small">
                  The policy as JSON, in the shape of a policies file entry; it is checked as{' '}
                  <code>vigil policies apply</code> checks it, and saved as a new version.
                </p>
                <textarea
                  name="spec"
                  aria-label="Policy"
                  rows={24}
                  class="spec"
                  value={draft}
                  onInput={(event) => setDraft(event.currentTarget.value)}
                />
                <p>
                  <button type="submit" class="primary" disabled={action.busy}>
                    Save
                  </button>{' '}
                  <button type="button" onClick={() => setDraft(null)}>
                    Cancel
                  </button>
                </p>
                <ErrorLine message={parseError ?? action.error} />
              </form>
            )}
            <h2>Versions</h2>
            <VersionHistory versions={data.versions ?? []} />
          </>
        )}
      </Loadable>
    </section>
  );
}

/** Every version, newest first, each with the lines it changed from the one before. */
function VersionHistory({ versions }: { versions: NonNullable<PolicyDetail['versions']> }) {
  const ordered = [...versions].sort((a, b) => a.version - b.version);
  return (
    <ol class="audit" data-testid="policy-versions">
      {ordered
        .map((version, index) => {
          const before = ordered[index - 1];
          const changed =
            before === undefined
              ? []
              : lineDiff(spec(before.spec), spec(version.spec)).filter((line) => line.kind !== 'same');
          return (
            <li key={version.version} data-version={version.version}>
              <span class="muted">{when(version.changedAt)}</span> <strong>{`v${version.version}`}</strong>{' '}
              {`${version.change} by ${version.changedBy}`}
              {changed.length > 0 && (
                <pre class="spec diff">
                  {changed.map((line, at) => (
                    <div
                      key={at}
                      class={`diff-${line.kind}`}
                    >{`${line.kind === 'add' ? '+' : '-'} ${line.text}`}</div>
                  ))}
                </pre>
              )}
            </li>
          );
        })
        .reverse()}
    </ol>
  );
}
