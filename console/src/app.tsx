import { useEffect, useState } from 'preact/hooks';
import { api, setUnauthorizedHandler } from './api';
import { usePolling } from './hooks';
import { ActionPage, ActionsPage } from './pages/actions';
import { AlertPage } from './pages/alert';
import { IncidentPage, IncidentsPage } from './pages/incidents';
import { InvestigationPage, InvestigationsPage } from './pages/investigations';
import { OnCallPage } from './pages/oncall';
import { PeopleAdminsOnly, PeoplePage } from './pages/people';
import { PoliciesPage } from './pages/policies';
import { PolicyPage } from './pages/policy';
import { QueuePage } from './pages/queue';
import { RemediationsPage } from './pages/remediations';
import { ProviderSignIn, SignIn } from './pages/sign-in';
import { TokensPage } from './pages/tokens';
import { href, type Route, useRoute } from './route';
import { endSession, loadSession, type Session, saveSession, serverSession } from './session';

/** Pages of the top bar; `admin` ones are shown to admins only (the API refuses everyone else). */
const NAV: readonly { page: string; label: string; admin?: true }[] = [
  { page: 'alerts', label: 'Alerts' },
  { page: 'incidents', label: 'Incidents' },
  { page: 'investigations', label: 'Investigations' },
  { page: 'actions', label: 'Actions' },
  { page: 'remediations', label: 'Remediation' },
  { page: 'policies', label: 'Policies' },
  { page: 'on-call', label: 'On-call' },
  { page: 'people', label: 'People', admin: true },
  { page: 'tokens', label: 'Tokens' },
];

/** The signed-in person's role, from `/api/me`: undefined until it answers, null if it failed. */
function Page({ route, role }: { route: Route; role: string | null | undefined }) {
  switch (route.page) {
    case 'alerts':
      return route.id === undefined ? <QueuePage /> : <AlertPage key={route.id} id={route.id} />;
    case 'incidents':
      return route.id === undefined ? <IncidentsPage /> : <IncidentPage key={route.id} id={route.id} />;
    case 'investigations':
      return route.id === undefined ? (
        <InvestigationsPage />
      ) : (
        <InvestigationPage key={route.id} id={route.id} />
      );
    case 'actions':
      return route.id === undefined ? <ActionsPage /> : <ActionPage key={route.id} id={route.id} />;
    case 'remediations':
      return <RemediationsPage />;
    case 'policies':
      return route.id === undefined ? <PoliciesPage /> : <PolicyPage key={route.id} id={route.id} />;
    case 'on-call':
      return <OnCallPage />;
    case 'people':
      if (role === undefined) return <p class="muted">Loading…</p>;
      return role === 'admin' ? <PeoplePage /> : <PeopleAdminsOnly role={role} />;
    case 'tokens':
      return <TokensPage />;
    default:
      return <p class="notice">{`No page “${route.page}”.`}</p>;
  }
}

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [reason, setReason] = useState<string | undefined>(undefined);
  /** Whether OpenID Connect sign-in is on; null until /auth/session answers. */
  const [oidc, setOidc] = useState<boolean | null>(null);
  const route = useRoute();
  // Asked again now and then: a role granted or taken away shows without signing in again.
  const me = usePolling(
    () => (session === null ? Promise.resolve(null) : api<{ role: string }>('GET', '/api/me')),
    [session],
    60_000,
  );
  const role = me.data?.role ?? (me.error === undefined ? undefined : null);

  useEffect(() => {
    setUnauthorizedHandler((refused) => {
      setReason(
        refused === 'cookie'
          ? 'Your session expired or was ended. Sign in again.'
          : 'Vigil refused the token. Sign in again.',
      );
      setSession(null);
    });
    serverSession()
      .then((answer) => {
        setOidc(answer.oidc);
        if (answer.session !== null && loadSession() === null) {
          saveSession(answer.session);
          setSession(answer.session);
        }
      })
      .catch(() => setOidc(false));
  }, []);

  if (session === null && oidc === null) return <p class="notice">Loading…</p>;
  if (session === null && oidc === true)
    return <ProviderSignIn {...(reason === undefined ? {} : { reason })} />;
  if (session === null) {
    return (
      <SignIn
        {...(reason === undefined ? {} : { reason })}
        onSignedIn={(next) => {
          setReason(undefined);
          setSession(next);
        }}
      />
    );
  }
  return (
    <>
      <nav class="top" data-role={role ?? ''}>
        <a class="brand" href={href('alerts')}>
          Vigil
        </a>
        {NAV.filter((item) => item.admin !== true || role === 'admin').map((item) => (
          <a key={item.page} href={href(item.page)} class={route.page === item.page ? 'current' : ''}>
            {item.label}
          </a>
        ))}
        <span class="spacer" />
        <span class="muted" data-testid="signed-in-as">
          {session.kind === 'cookie' ? `${session.user} (${session.role})` : session.user}
        </span>
        <button
          type="button"
          class="link"
          onClick={() => {
            void endSession(session).then(() => {
              setReason(undefined);
              setSession(null);
            });
          }}
        >
          Sign out
        </button>
      </nav>
      <main>
        <Page route={route} role={role} />
      </main>
    </>
  );
}
