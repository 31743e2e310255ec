import { api } from '../api';
import { Loadable } from '../components/status';
import { humanize, when } from '../format';
import { usePolling } from '../hooks';

interface Person {
  name: string;
  slack?: string;
  teams?: string;
}

interface Shift {
  people: Person[];
  from: string;
  until: string | null;
}

interface Schedule {
  id: string;
  name: string;
  timeZone: string;
  version: number;
  rotations: { name: string; handoff: string; handoffTime: string; startDate: string; people: Person[] }[];
  onCall: { now: Shift | null; next: Shift | null };
  overrides: { id: string; person: Person; startsAt: string; endsAt: string }[];
}

type Target = { type: 'schedule'; schedule: string } | { type: 'person'; person: Person };

interface EscalationPolicy {
  id: string;
  name: string;
  version: number;
  repeat: number;
  levels: { targets: Target[]; waitMinutes: number }[];
}

const names = (people: readonly Person[]): string =>
  people.map((person) => person.name).join(', ') || 'nobody';

const targetLabel = (target: Target): string =>
  target.type === 'schedule' ? `on call in ${target.schedule}` : target.person.name;

/**
 * On-call: each schedule with who is on call now and next, its rotations and overrides, and the
 * escalation policies that page them. Read here; changed through `/api/schedules`,
 * `/api/escalation-policies` or the policies file.
 */
export function OnCallPage() {
  const schedules = usePolling(() => api<{ schedules: Schedule[] }>('GET', '/api/schedules'), [], 30_000);
  const escalations = usePolling(
    () => api<{ escalationPolicies: EscalationPolicy[] }>('GET', '/api/escalation-policies'),
    [],
    30_000,
  );
  return (
    <section>
      <h1>On-call</h1>
      <h2>Schedules</h2>
      <Loadable data={schedules.data} error={schedules.error} what="Schedules">
        {(data) =>
          data.schedules.length === 0 ? (
            <p class="muted">
              No schedules. Define them in a policies file (<code>vigil policies apply</code>) or with the{' '}
              <code>/api/schedules</code> API.
            </p>
          ) : (
            data.schedules.map((schedule) => (
              <article key={schedule.id} data-schedule={schedule.name} class="card">
                <h3>{schedule.name}</h3>
                <p class="muted small">{`${schedule.timeZone} · version ${schedule.version}`}</p>
                <p data-testid="on-call-now">
                  <strong>On call now:</strong> {names(schedule.onCall.now?.people ?? [])}
                  {schedule.onCall.now?.until ? ` until ${when(schedule.onCall.now.until)}` : ''}
                </p>
                <p data-testid="on-call-next">
                  <strong>Next:</strong>{' '}
                  {schedule.onCall.next === null
                    ? 'no change ahead'
                    : `${names(schedule.onCall.next.people)} from ${when(schedule.onCall.next.from)}`}
                </p>
                <table>
                  <thead>
                    <tr>
                      <th>Rotation</th>
                      <th>Hand-off</th>
                      <th>People, in turn</th>
                    </tr>
                  </thead>
                  <tbody>
                    {schedule.rotations.map((rotation) => (
                      <tr key={rotation.name}>
                        <td>{rotation.name}</td>
                        <td>{`${humanize(rotation.handoff)} at ${rotation.handoffTime}, from ${rotation.startDate}`}</td>
                        <td>{names(rotation.people)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                <h4>Overrides</h4>
                {schedule.overrides.length === 0 ? (
                  <p class="muted small">None ahead.</p>
                ) : (
                  <ul data-testid="overrides">
                    {schedule.overrides.map((override) => (
                      <li key={override.id}>
                        {`${override.person.name}: ${when(override.startsAt)} to ${when(override.endsAt)}`}
                      </li>
                    ))}
                  </ul>
                )}
              </article>
            ))
          )
        }
      </Loadable>
      <h2>Escalation policies</h2>
      <Loadable data={escalations.data} error={escalations.error} what="Escalation policies">
        {(data) =>
          data.escalationPolicies.length === 0 ? (
            <p class="muted">No escalation policies.</p>
          ) : (
            <table data-testid="escalation-policies">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Levels, in order</th>
                  <th>Repeats</th>
                </tr>
              </thead>
              <tbody>
                {data.escalationPolicies.map((policy) => (
                  <tr key={policy.id} data-escalation={policy.name}>
                    <td>{policy.name}</td>
                    <td>
                      <ol>
                        {policy.levels.map((level, index) => (
                          <li key={index}>
                            {`${level.targets.map(targetLabel).join(', ')}; then ${level.waitMinutes} min to answer`}
                          </li>
                        ))}
                      </ol>
                    </td>
                    <td>{policy.repeat}</td>
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
