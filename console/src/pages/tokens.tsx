import { useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorLine, Loadable } from '../components/status';
import { when } from '../format';
import { useAction, usePolling } from '../hooks';

interface Token {
  id: string;
  name: string;
  roleCap: string;
  expiresAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

const statusOf = (token: Token): string =>
  token.revokedAt !== null
    ? `revoked ${when(token.revokedAt)}`
    : Date.parse(token.expiresAt) <= Date.now()
      ? 'expired'
      : `expires ${when(token.expiresAt)}`;

/**
 * Your personal API tokens: create one (shown this once; Vigil keeps only its hash), see when each
 * was last used, revoke one. A token acts as you, with at most the role you have now.
 */
export function TokensPage() {
  const tokens = usePolling(() => api<{ tokens: Token[] }>('GET', '/api/tokens'), [], 15_000);
  const action = useAction();
  const [name, setName] = useState('');
  const [days, setDays] = useState('90');
  const [created, setCreated] = useState<{ token: string; name: string } | null>(null);
  return (
    <section>
      <h1>Your API tokens</h1>
      <form
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          void action
            .run(async () => {
              const answer = await api<Token & { token: string }>('POST', '/api/tokens', {
                name: name.trim(),
                expiresInDays: Number(days),
              });
              setCreated({ token: answer.token, name: answer.name });
              setName('');
            })
            .then((done) => (done ? tokens.refresh() : undefined));
        }}
      >
        <label>
          Name{' '}
          <input
            value={name}
            required
            maxLength={100}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Expires in days{' '}
          <input
            type="number"
            min={1}
            max={365}
            value={days}
            onInput={(e) => setDays((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" class="primary" disabled={action.busy}>
          Create token
        </button>
      </form>
      <ErrorLine message={action.error} />
      {created !== null && (
        <div class="notice" data-testid="new-token-notice">
          <p>{`Your token “${created.name}”, shown this once (Vigil keeps only its hash). Copy it now:`}</p>
          <code class="mono" data-testid="new-token">
            {created.token}
          </code>
          <p>
            <button type="button" class="link" onClick={() => setCreated(null)}>
              I have copied it
            </button>
          </p>
        </div>
      )}
      <Loadable data={tokens.data} error={tokens.error} what="Tokens">
        {(data) =>
          data.tokens.length === 0 ? (
            <p class="muted">You have no personal API tokens.</p>
          ) : (
            <table data-testid="tokens">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Role at most</th>
                  <th>Created</th>
                  <th>Last used</th>
                  <th>Status</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {data.tokens.map((token) => (
                  <tr key={token.id} data-token-id={token.id} data-token={token.name}>
                    <td>{token.name}</td>
                    <td>{token.roleCap}</td>
                    <td>{when(token.createdAt)}</td>
                    <td data-testid="last-used">
                      {token.lastUsedAt === null ? 'never' : when(token.lastUsedAt)}
                    </td>
                    <td data-testid="token-status">{statusOf(token)}</td>
                    <td>
                      {token.revokedAt === null && (
                        <button
                          type="button"
                          class="danger"
                          disabled={action.busy}
                          onClick={() =>
                            void action
                              .run(() => api('DELETE', `/api/tokens/${token.id}`))
                              .then((done) => (done ? tokens.refresh() : undefined))
                          }
                        >
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loadable>
    </section>
  );
}
