import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeAlertStatus } from '../../src/app/commands/change-alert-status.js';
import { decideAction } from '../../src/app/commands/decide-action.js';
import { identify } from '../../src/app/identity.js';
import { type ActingPerson, systemClock, type UserActor } from '../../src/domain/index.js';
import { type DbHandle, openDb } from '../../src/storage/db.js';
import { FakeExecutor } from '../fakes/executor.js';
import { eventually, startTestVigil, TEST_DATABASE_URL, type TestVigil } from '../helpers/harness.js';
import { personWithToken } from '../helpers/people.js';

// Issue 13's budget: the command layer costs no more queries per click and per approval than the
// role lookup it replaced (6 for Mark in progress, 8 and 19 for the two approvals of one action),
// with the person read afresh on every click. Counted on a connection of the test's own, so the
// worker running beside it is not counted.

const EXECUTOR_SECRET = 'executor-secret-0123456789';
const policy = { admins: ['slack:T0:U0COST'], defaultRole: 'viewer' } as const;

let executor: FakeExecutor;
let vigil: TestVigil;
let counted: DbHandle;
let queries: string[] = [];

const json = async (response: Response) => (await response.json()) as any;

/** Card refreshes asked for an alert so far: a pending row counts each request it folded in. */
async function notifyRequests(alertId: string): Promise<number> {
  const row = await vigil.handle.db
    .selectFrom('outbox')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<string>('requested'), eb.val('0')).as('n'))
    .where('dedupe_key', '=', `notify:${alertId}`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The queries `work` sends, in order. */
async function queriesOf(work: () => Promise<unknown>): Promise<string[]> {
  queries = [];
  await work();
  return queries;
}

/** The person behind `actor`, resolved as every click resolves it: on the counted connection. */
async function acting(actor: UserActor): Promise<ActingPerson> {
  const found = await identify(counted.db, actor, policy);
  if (!found.ok) throw new Error(found.error.message);
  return found.value;
}

beforeAll(async () => {
  executor = await new FakeExecutor(EXECUTOR_SECRET).start();
  vigil = await startTestVigil({
    env: {
      VIGIL_EXECUTOR_WEBHOOK_URL: `${executor.url}/webhook`,
      VIGIL_EXECUTOR_WEBHOOK_SECRET: EXECUTOR_SECRET,
    },
    relayTimings: { pollMs: 100 },
  });
  counted = openDb({ url: TEST_DATABASE_URL, schema: vigil.schema, poolSize: 1 });
  counted.pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const text = args[0];
      queries.push(typeof text === 'string' ? text : String((text as { text?: string }).text));
      return query(...args);
    };
  });
});
afterAll(async () => {
  await counted?.close();
  await vigil?.close();
  await executor?.stop();
});

describe('what a command costs', () => {
  it('Mark in progress: the person and the change in 5 queries, audited, its card refresh queued', async () => {
    const actor: UserActor = { kind: 'user', platform: 'slack', id: 'U0COST', tenant: 'T0', name: 'cost' };
    await acting(actor); // met once before: a first click also creates the person
    const ingested = await vigil.ingest('generic', { title: 'cost', source: 'cost', severity: 'high' });
    const alertId = (await json(ingested)).alerts[0].id as string;
    const requestsBefore = await notifyRequests(alertId);

    const sent = await queriesOf(async () => {
      const person = await acting(actor);
      const changed = await changeAlertStatus({ handle: counted, clock: systemClock }, person, {
        alertId,
        request: { action: 'start_progress', expectedVersion: 1 },
      });
      expect(changed.ok).toBe(true);
    });
    expect(sent).toHaveLength(5);

    const alert = await vigil.handle.db
      .selectFrom('alerts')
      .select('status')
      .where('id', '=', alertId)
      .executeTakeFirstOrThrow();
    expect(alert.status).toBe('in_progress');
    const audit = await vigil.handle.db
      .selectFrom('audit_log')
      .select(['action', 'actor_key'])
      .where('alert_id', '=', alertId)
      .where('action', '=', 'alert.status_changed')
      .execute();
    expect(audit).toEqual([{ action: 'alert.status_changed', actor_key: 'slack:U0COST' }]);
    expect(await notifyRequests(alertId)).toBe(requestsBefore + 1);
  });

  it('two approvals of one action: 6 and 10 queries, the second approves and queues the run', async () => {
    const carol = await personWithToken(vigil, 'carol', 'approver');
    const bob = await personWithToken(vigil, 'bob', 'approver');
    const user = 'root@contoso.com';
    const ingested = await vigil.ingest('generic', {
      title: `Admin account ${user} compromised`,
      source: 'cost',
      severity: 'high',
      entities: [{ kind: 'user', id: user, attributes: { privileged: true } }],
    });
    const alertId = (await json(ingested)).alerts[0].id as string;
    expect(
      (await vigil.api('POST', '/api/watchlist', { kind: 'user', value: user, reason: 'x' })).status,
    ).toBe(201);
    const started = await vigil.api('POST', `/api/alerts/${alertId}/investigate`);
    expect(started.status).toBe(202);
    const { investigationId } = await json(started);
    const actionId = await eventually(async () => {
      const listed = (await json(await vigil.api('GET', `/api/actions?investigationId=${investigationId}`)))
        .actions as { id: string; kind: string }[];
      return listed.find((action) => action.kind === 'disable_user')?.id;
    });
    const approveAs = (name: string) => async () => {
      const person = await acting({ kind: 'user', platform: 'console', id: `test:${name}`, name });
      return decideAction({ handle: counted, clock: systemClock }, person, { actionId, decision: 'approve' });
    };

    let first: Awaited<ReturnType<ReturnType<typeof approveAs>>> | undefined;
    expect(await queriesOf(async () => (first = await approveAs('carol')()))).toHaveLength(6);
    expect(first?.ok === false && first.error.code).toBe('action.needs_second_approver');

    // The investigation keeps its status (its other action still waits), so it is not written.
    let second: Awaited<ReturnType<ReturnType<typeof approveAs>>> | undefined;
    expect(await queriesOf(async () => (second = await approveAs('bob')()))).toHaveLength(10);
    expect(second?.ok && second.value).toMatchObject({
      status: 'approved',
      decisions: [
        { approverKey: `person:${carol.personId}`, decision: 'approve' },
        { approverKey: `person:${bob.personId}`, decision: 'approve' },
      ],
    });
    const trail = await vigil.handle.db
      .selectFrom('audit_log')
      .select('action')
      .where('alert_id', '=', alertId)
      .where('action', 'in', ['action.approval_recorded', 'action.approved'])
      .orderBy('id')
      .execute();
    expect(trail.map((row) => row.action)).toEqual(['action.approval_recorded', 'action.approved']);
    // The run the second approval queued: the executor is called once, with the action's key.
    await eventually(async () => executor.callsWithKey(`vigil-action-${actionId}`).length === 1 || undefined);
  });
});
