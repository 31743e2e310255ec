import { useEffect, useState } from 'preact/hooks';
import { setUnauthorizedHandler } from './api';
import { ActionPage, ActionsPage } from './pages/actions';
import { AlertPage } from './pages/alert';
import { InvestigationPage, InvestigationsPage } from './pages/investigations';
import { OnCallPage, PoliciesPage } from './pages/placeholders';
import { PolicyPage } from './pages/policy';
import { QueuePage } from './pages/queue';
import { RemediationsPage } from './pages/remediations';
import { SignIn } from './pages/sign-in';
import { href, type Route, useRoute } from './route';
import { loadSession, type Session, signOut } from './session';

const NAV: readonly { page: string; label: string }[] = [
  { page: 'alerts', label: 'Alerts' },
  { page: 'investigations', label: 'Investigations' },
  { page: 'actions', label: 'Actions' },
  { page: 'remediations', label: 'Remediation' },
  { page: 'policies', label: 'Policies' },
  { page: 'on-call', label: 'On-call' },
];

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'alerts':
      return route.id === undefined ? <QueuePage /> : <AlertPage key={route.id} id={route.id} />;
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
    default:
      return <p class="notice">{`No page “${route.page}”.`}</p>;
  }
}

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [reason, setReason] = useState<string | undefined>(undefined);
  const route = useRoute();

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setReason('Vigil refused the token. Sign in again.');
      setSession(null);
    });
  }, []);

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
      <nav class="top">
        <a class="brand" href={href('alerts')}>
          Vigil
        </a>
        {NAV.map((item) => (
          <a key={item.page} href={href(item.page)} class={route.page === item.page ? 'current' : ''}>
            {item.label}
          </a>
        ))}
        <span class="spacer" />
        <span class="muted" data-testid="signed-in-as">
          {session.user}
        </span>
        <button
          type="button"
          class="link"
          onClick={() => {
            signOut();
            setSession(null);
          }}
        >
          Sign out
        </button>
      </nav>
      <main>
        <Page route={route} />
      </main>
    </>
  );
}
