import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestVigil, TEST_DATABASE_URL, type TestVigil } from '../helpers/harness.js';
import { personWithToken, type TokenPerson } from '../helpers/people.js';

/**
 * The action center through the API: the investigations list with its filters and pages,
 * terminating an investigation, one action with its outcome, and a failed action's reason on
 * the action, in the alert's trail and on both platforms' cards. No executor is configured here,
 * so every approved action fails, as on a fresh install.
 */
let vigil: TestVigil;
let db: pg.Client;
let lead: TokenPerson;
let dana: TokenPerson;

beforeAll(async () => {
  vigil = await startTestVigil({ relayTimings: { pollMs: 100 } });
  db = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await db.connect();
  lead = await personWithToken(vigil, 'soc.lead', 'responder');
  dana = await personWithToken(vigil, 'dana', 'approver');
  // Both users are on the watchlist: an investigation finds them malicious and proposes
  // revoke_sessions and disable_user for each, waiting for approval.
  for (const value of ['adele@contoso.com', 'megan@contoso.com']) {
    const added = await vigil.api('POST', '/api/watchlist', {
      kind: 'user',
      value,
      reason: 'credentials for sale',
    });
    expect(added.status).toBe(201);
  }
});
afterAll(async () => {
  await db?.end();
  await vigil?.close();
});

const json = async (response: Response) => (await response.json()) as any;

async function ingest(body: Record<string, unknown>): Promise<{ id: string; number: string }> {
  const response = await vigil.ingest('generic', body);
  expect(response.status).toBe(202);
  return (await json(response)).alerts[0];
}

/** Starts an investigation of the alert as `soc.lead` (so others may approve) and waits for its actions. */
async function investigate(alertId: string): Promise<any> {
  const started = await vigil.api('POST', `/api/alerts/${alertId}/investigate`, undefined, lead.as);
  expect(started.status).toBe(202);
  const { investigationId } = await json(started);
  return eventually(
    async () => {
      const detail = await json(await vigil.api('GET', `/api/investigations/${investigationId}`));
      return detail.status === 'pending_approval' ? detail : undefined;
    },
    20_000,
    'the investigation to wait for approval',
  );
}

const userAlert = (upn: string, id: string) => ({
  title: `Impossible travel for ${upn}`,
  severity: 'high',
  source: 'idp',
  id,
  entities: [{ kind: 'user', id: upn }],
});

describe('a failed action', () => {
  it('shows its reason on the action, in the trail and on both cards, and the investigation ends failed', async () => {
    const alert = await ingest(userAlert('adele@contoso.com', 'fail-1'));
    const investigation = await investigate(alert.id);
    const [first, second] = investigation.pendingActions;
    expect(investigation.pendingActions).toHaveLength(2);

    const approved = await vigil.api('POST', `/api/actions/${first.id}/approve`, {}, dana.as);
    expect(approved.status).toBe(200);
    const failed = await eventually(
      async () => {
        const response = await vigil.api('GET', `/api/actions/${first.id}`);
        expect(response.status).toBe(200);
        const { action } = await json(response);
        return action.status === 'failed' ? action : undefined;
      },
      20_000,
      'the approved action to fail',
    );
    expect(failed.error).toMatch(/^no executor is configured for/);
    expect(failed.decisions).toMatchObject([{ approverKey: `person:${dana.personId}`, decision: 'approve' }]);

    // The trail says why.
    const detail = await json(await vigil.api('GET', `/api/alerts/${alert.id}`));
    const entry = detail.audit.find((line: any) => line.action === 'action.failed');
    expect(entry.details.error).toMatch(/no executor is configured/);

    // Both cards say why.
    const preview = await json(await vigil.api('GET', `/api/alerts/${alert.id}/cards/preview`));
    expect(JSON.stringify(preview.slack.blocks)).toContain('failed: no executor is configured for');
    expect(JSON.stringify(preview.teams)).toContain(': no executor is configured for');

    // One failed while the other still waits: pending approval, with the failure counted on the list.
    const listed = await json(await vigil.api('GET', `/api/investigations?triggerAlert=${alert.number}`));
    expect(listed.investigations).toMatchObject([
      { id: investigation.id, status: 'pending_approval', pendingActionCount: 1, failedActionCount: 1 },
    ]);
    // Once the other is rejected, nothing was done: the investigation failed.
    const rejected = await vigil.api(
      'POST',
      `/api/actions/${second.id}/reject`,
      { reason: 'not needed' },
      dana.as,
    );
    expect(rejected.status).toBe(200);
    const after = await json(await vigil.api('GET', `/api/investigations/${investigation.id}`));
    expect(after.status).toBe('failed');
  });

  it('answers 404 for an action that does not exist', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'nope']) {
      const response = await vigil.api('GET', `/api/actions/${id}`);
      expect(response.status).toBe(404);
      expect((await json(response)).error.code).toBe('action.not_found');
    }
  });
});

describe('terminating an investigation', () => {
  it('cancels its pending actions, audits, refreshes the cards, and is idempotent', async () => {
    const alert = await ingest(userAlert('megan@contoso.com', 'term-1'));
    const investigation = await investigate(alert.id);
    // Card refreshes of one alert coalesce: a refresh is a new notify row, or one more request
    // on the row still pending. Count both.
    const refreshRequests = async () => {
      const { rows } = await db.query<{ n: string }>(
        `SELECT count(*) + coalesce(sum(requested - 1), 0) AS n FROM "${vigil.schema}".outbox
          WHERE topic = 'notify' AND payload->>'alertId' = $1`,
        [alert.id],
      );
      return Number(rows[0]?.n ?? 0);
    };
    const before = await refreshRequests();

    const response = await vigil.api('POST', `/api/investigations/${investigation.id}/terminate`);
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.changed).toBe(true);
    expect(body.investigation.status).toBe('terminated');
    expect(body.cancelledActions).toHaveLength(2);
    expect(body.investigation.pendingActions).toEqual([]);
    expect(body.investigation.actions.map((action: any) => action.status)).toEqual([
      'cancelled',
      'cancelled',
    ]);

    const trail = (await json(await vigil.api('GET', `/api/alerts/${alert.id}`))).audit;
    expect(trail).toContainEqual(
      expect.objectContaining({
        action: 'investigation.terminated',
        actorKey: 'api:service',
        details: expect.objectContaining({ investigationId: investigation.id, from: 'pending_approval' }),
      }),
    );
    // The card refresh was queued in the same transaction, by the triggers on these rows.
    expect(await refreshRequests()).toBeGreaterThan(before);
    const preview = await json(await vigil.api('GET', `/api/alerts/${alert.id}/cards/preview`));
    expect(JSON.stringify(preview.slack.blocks)).toContain('Terminated');
    expect(JSON.stringify(preview.slack.blocks)).not.toContain('"Approve"');

    // A cancelled action can no longer be approved; a second terminate changes nothing.
    const late = await vigil.api('POST', `/api/actions/${body.cancelledActions[0]}/approve`, {});
    expect(late.status).toBe(409);
    const again = await vigil.api('POST', `/api/investigations/${investigation.id}/terminate`);
    expect(again.status).toBe(200);
    expect((await json(again)).changed).toBe(false);
  });

  it('refuses a finished investigation and an unknown one', async () => {
    const alert = await ingest({ title: 'Nothing to see', source: 'idp', id: 'clean-1' });
    const started = await json(await vigil.api('POST', `/api/alerts/${alert.id}/investigate`));
    await eventually(
      async () => {
        const detail = await json(await vigil.api('GET', `/api/investigations/${started.investigationId}`));
        return detail.status === 'no_threats_found';
      },
      20_000,
      'the investigation to find nothing',
    );
    const refused = await vigil.api('POST', `/api/investigations/${started.investigationId}/terminate`);
    expect(refused.status).toBe(409);
    expect((await json(refused)).error.code).toBe('investigation.transition_not_allowed');
    const unknown = await vigil.api(
      'POST',
      '/api/investigations/00000000-0000-4000-8000-000000000000/terminate',
    );
    expect(unknown.status).toBe(404);
  });
});

describe('GET /api/investigations', () => {
  it('lists newest first with the triggering alert and counts, filters, and pages', async () => {
    const all = await json(await vigil.api('GET', '/api/investigations'));
    expect(all.investigations.length).toBeGreaterThanOrEqual(3);
    const times = all.investigations.map((item: any) => item.createdAt);
    expect([...times].sort().reverse()).toEqual(times);
    const failed = all.investigations.find((item: any) => item.status === 'failed');
    expect(failed).toMatchObject({
      triggerAlert: { title: 'Impossible travel for adele@contoso.com', severity: 'high' },
      alertCount: 1,
      entityCount: 1,
      pendingActionCount: 0,
      failedActionCount: 1,
      startedBy: { kind: 'user', platform: 'api', personId: lead.personId, name: 'soc.lead' },
    });
    expect(failed.triggerAlert.number).toMatch(/^\d+$/);

    const terminated = await json(await vigil.api('GET', '/api/investigations?status=terminated'));
    expect(terminated.investigations.map((item: any) => item.status)).toEqual(['terminated']);
    const active = await json(await vigil.api('GET', '/api/investigations?status=active'));
    expect(active.investigations).toEqual([]);

    const megan = await json(
      await vigil.api('GET', '/api/investigations?entityKind=user&entityKey=megan%40contoso.com'),
    );
    expect(megan.investigations.map((item: any) => item.triggerAlert.title)).toEqual([
      'Impossible travel for megan@contoso.com',
    ]);
    const byAlert = await json(
      await vigil.api('GET', `/api/investigations?triggerAlert=${failed.triggerAlert.id}`),
    );
    expect(byAlert.investigations.map((item: any) => item.id)).toEqual([failed.id]);
    const unknownAlert = await json(await vigil.api('GET', '/api/investigations?triggerAlert=999999'));
    expect(unknownAlert.investigations).toEqual([]);

    const future = new Date(Date.now() + 3_600_000).toISOString();
    const none = await json(
      await vigil.api('GET', `/api/investigations?createdAfter=${encodeURIComponent(future)}`),
    );
    expect(none.investigations).toEqual([]);
    const beforeNow = await json(
      await vigil.api('GET', `/api/investigations?createdBefore=${encodeURIComponent(future)}`),
    );
    expect(beforeNow.investigations).toHaveLength(all.investigations.length);

    // Pages of one: every investigation once, in the same order, then no cursor.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await json(
        await vigil.api('GET', `/api/investigations?limit=1${cursor === null ? '' : `&cursor=${cursor}`}`),
      );
      seen.push(...page.investigations.map((item: any) => item.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(all.investigations.map((item: any) => item.id));
  });

  it('answers 400 naming the field for bad filters', async () => {
    for (const [query, field] of [
      ['status=sleeping', 'status'],
      ['createdAfter=yesterday', 'createdAfter'],
      ['entityKind=user', 'entityKey'],
      ['cursor=garbage', 'cursor'],
      ['limit=0', 'limit'],
    ] as const) {
      const response = await vigil.api('GET', `/api/investigations?${query}`);
      expect(response.status, query).toBe(400);
      const body = await json(response);
      expect(body.error.issues.map((issue: any) => issue.path.split('.')[0])).toContain(field);
    }
  });
});
