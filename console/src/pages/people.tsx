import { useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorLine, Loadable } from '../components/status';
import { when } from '../format';
import { useAction, usePolling } from '../hooks';

interface Identity {
  key: string;
  email: string | null;
  revokedAt: string | null;
  linkedBy: string | null;
}

interface Person {
  id: string;
  kind: 'person' | 'service';
  displayName: string | null;
  role: string | null;
  effectiveRole: string;
  disabledAt: string | null;
  identities: Identity[];
}

/** Who linked an identity: an admin's key, `vigil` (a fuller key of the same account) or nobody (first contact). */
const linkedLabel = (identity: Identity): string =>
  identity.linkedBy === null ? 'first contact' : `linked by ${identity.linkedBy}`;

/**
 * People (admins): everyone Vigil knows with their identities and roles; link another identity to
 * a person, unlink one, or offboard a person (every identity, token and session at once). Each
 * button is a command that decides and audits, as in Slack and Teams.
 */
export function PeoplePage() {
  const people = usePolling(() => api<{ people: Person[] }>('GET', '/api/people'), [], 10_000);
  const action = useAction();
  const change = async (method: 'POST' | 'DELETE', path: string, body?: unknown) => {
    if (await action.run(() => api(method, path, body))) await people.refresh();
  };
  return (
    <section>
      <h1>People</h1>
      <p class="muted small">
        One person, any number of identities: Slack, Teams and console sign-ins with the same verified e-mail
        address of this workspace or tenant are linked automatically; link others here.
      </p>
      <ErrorLine message={action.error} />
      <Loadable data={people.data} error={people.error} what="People">
        {(data) => (
          <table data-testid="people">
            <thead>
              <tr>
                <th>Person</th>
                <th>Role</th>
                <th>Identities</th>
                <th>Link an identity</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {data.people.map((person) => (
                <tr key={person.id} data-person-id={person.id} data-person={person.displayName ?? ''}>
                  <td>
                    {person.displayName ?? person.id}
                    {person.kind === 'service' && <span class="muted small"> (service)</span>}
                    {person.disabledAt !== null && (
                      <div class="badge" data-testid="disabled">{`disabled ${when(person.disabledAt)}`}</div>
                    )}
                  </td>
                  <td data-testid="role">
                    {person.effectiveRole}
                    {person.role === null && <span class="muted small"> (not granted)</span>}
                  </td>
                  <td>
                    <ul class="identities">
                      {person.identities.map((identity) => (
                        <li key={identity.key} data-identity={identity.key}>
                          <span class="mono">{identity.key}</span>
                          {identity.email !== null && <span class="muted small">{` ${identity.email}`}</span>}
                          <span class="muted small">{` · ${linkedLabel(identity)}`}</span>
                          {identity.revokedAt === null ? (
                            person.kind === 'person' && (
                              <button
                                type="button"
                                class="link"
                                disabled={action.busy}
                                onClick={() =>
                                  void change(
                                    'DELETE',
                                    `/api/people/${person.id}/links/${encodeURIComponent(identity.key)}`,
                                  )
                                }
                              >
                                Unlink
                              </button>
                            )
                          ) : (
                            <span class="badge">{`unlinked ${when(identity.revokedAt)}`}</span>
                          )}
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td>
                    {person.kind === 'person' && person.disabledAt === null && (
                      <LinkForm
                        busy={action.busy}
                        onLink={(key) => change('POST', `/api/people/${person.id}/links`, { key })}
                      />
                    )}
                  </td>
                  <td>
                    {person.kind === 'person' && person.disabledAt === null && (
                      <button
                        type="button"
                        class="danger"
                        disabled={action.busy}
                        onClick={() => {
                          if (
                            window.confirm(
                              `Offboard ${person.displayName ?? person.id}? Every identity, token and session stops at once.`,
                            )
                          )
                            void change('POST', `/api/people/${person.id}/disable`);
                        }}
                      >
                        Offboard
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loadable>
    </section>
  );
}

function LinkForm(props: { busy: boolean; onLink: (key: string) => Promise<void> }) {
  const [key, setKey] = useState('');
  return (
    <form
      class="inline"
      onSubmit={(event) => {
        event.preventDefault();
        if (key.trim() !== '') void props.onLink(key.trim()).then(() => setKey(''));
      }}
    >
      <input
        aria-label="Identity to link"
        placeholder="teams:<tenant>:<object ID>"
        value={key}
        onInput={(event) => setKey((event.target as HTMLInputElement).value)}
      />
      <button type="submit" disabled={props.busy}>
        Link
      </button>
    </form>
  );
}

/** What someone who is not an admin sees at `#/people`: why, and who can help, not a refusal. */
export function PeopleAdminsOnly({ role }: { role: string | null }) {
  const yours =
    role === null
      ? 'Vigil could not tell your role just now'
      : `you are ${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role}`;
  return (
    <section>
      <h1>People</h1>
      <p class="notice" data-testid="admins-only">
        {`Only admins manage people, identities and roles; ${yours}. Ask an admin if you need a different role or another identity linked.`}
      </p>
    </section>
  );
}
