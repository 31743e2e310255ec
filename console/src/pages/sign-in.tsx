import { useState } from 'preact/hooks';
import { pendingToken, type Session, saveSession, USER_PATTERN } from '../session';

/**
 * Asks for an API token (your personal token acts as you; VIGIL_API_TOKEN as the API service)
 * and a name shown on the page. A sign-in link may already
 * have put the token in sessionStorage; then only the name is asked for.
 */
export function SignIn({ onSignedIn, reason }: { onSignedIn: (session: Session) => void; reason?: string }) {
  const fromLink = pendingToken();
  const [token, setToken] = useState(fromLink ?? '');
  const [user, setUser] = useState('');
  const [problem, setProblem] = useState<string | undefined>(undefined);

  const submit = (event: Event) => {
    event.preventDefault();
    if (token.trim() === '') return setProblem('Enter the API token (VIGIL_API_TOKEN).');
    if (!USER_PATTERN.test(user)) {
      return setProblem('Your name: letters, digits and . _ @ : - only, up to 100 characters.');
    }
    const session = { token: token.trim(), user };
    saveSession(session);
    onSignedIn(session);
  };

  return (
    <main class="sign-in">
      <form onSubmit={submit} class="card sign-in-form">
        <h1>Vigil console</h1>
        {reason !== undefined && <p class="notice error">{reason}</p>}
        {fromLink === null ? (
          <label>
            API token
            <input
              name="token"
              type="password"
              autocomplete="off"
              value={token}
              onInput={(event) => setToken(event.currentTarget.value)}
            />
          </label>
        ) : (
          <p class="muted">Token received from the sign-in link.</p>
        )}
        <label>
          Your name (shown on this page; the token decides who acts)
          <input
            name="user"
            autocomplete="username"
            placeholder="e.g. adele.vance"
            value={user}
            onInput={(event) => setUser(event.currentTarget.value)}
          />
        </label>
        {problem !== undefined && <p class="notice error">{problem}</p>}
        <button type="submit" class="primary">
          Sign in
        </button>
        <p class="muted small">
          The token stays in this tab (sessionStorage) and is sent only to this Vigil, as a bearer header.
        </p>
      </form>
    </main>
  );
}
