import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXCEPTION_REASONS, fixedClock } from '../../src/domain/index.js';
import { eventually, startTestVigil, type TestVigil } from '../helpers/harness.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// Vigil's clock starts at the real time so delayed outbox rows (judged by Postgres's clock) line up.
const clock = fixedClock(new Date(Math.floor(Date.now() / 1000) * 1000));
let vigil: TestVigil;

beforeAll(async () => {
  vigil = await startTestVigil({ clock, relayTimings: { pollMs: 100 } });
});
afterAll(async () => {
  await vigil?.close();
});

const devices = (n: number, prefix = 'host') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const inDays = (days: number) => new Date(clock.now().getTime() + days * DAY).toISOString();

async function request(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await vigil.api(
    'POST',
    '/api/remediations',
    {
      recommendation: 'Update Chrome to 131',
      devices: ['pc-1'],
      dueAt: inDays(7),
      priority: 'high',
      ...body,
    },
    headers,
  );
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

const detail = async (id: string) =>
  (await (await vigil.api('GET', `/api/remediations/${id}`)).json()) as Record<string, any>;

/** Lets delayed outbox rows of one kind run now: Postgres's time is not driven by the test's clock. */
async function releaseDelayed(remediationId: string, kind: string): Promise<void> {
  await sql`UPDATE outbox SET available_at = now() WHERE enqueued_at IS NULL
    AND payload->>'remediationId' = ${remediationId} AND payload->>'kind' = ${kind}`.execute(vigil.handle.db);
  vigil.relay?.kick();
}

describe('requesting remediation', () => {
  it('sends 10,000 of 12,000 devices and reports the 2,000 left, with the message and the list', async () => {
    const { status, body } = await request({ devices: devices(12_000), notes: 'Exploited in the wild' });
    expect(status).toBe(201);
    expect(body.sent).toBe(10_000);
    expect(body.left).toBe(2_000);
    expect(body.leftDevices).toHaveLength(2_000);
    expect(body.leftDevices[0]).toBe('host-10000');
    expect(body.message).toMatch(/^Sent 10,000 of 12,000 devices.*2,000 devices were not sent; submit them/);
    expect(body.remediation).toMatchObject({ status: 'open', deviceCount: 10_000, devicesLeft: 2_000 });

    const stored = await detail(body.remediation.id);
    expect(stored.devices).toHaveLength(10_000);
    expect(stored.devices.at(-1)).toBe('host-9999');
  });

  it('opens the built-in ticket, audits it, and keeps its reminder and overdue check in Postgres', async () => {
    const { body } = await request({});
    const id = body.remediation.id as string;
    const opened = await eventually(async () => {
      const current = await detail(id);
      return current.ticket.externalId === null ? undefined : current;
    });
    expect(opened.ticket).toMatchObject({ connector: 'builtin', externalId: `R-${body.remediation.number}` });
    expect(opened.audit.map((row: { action: string }) => row.action)).toEqual(
      expect.arrayContaining(['remediation.created', 'remediation.ticket_opened']),
    );
    const due = await vigil.handle.db
      .selectFrom('outbox')
      .select(['payload', 'available_at', 'enqueued_at'])
      .where('topic', '=', 'remediation_due')
      .where(sql<string>`payload->>'remediationId'`, '=', id)
      .execute();
    const byKind = Object.fromEntries(due.map((row) => [row.payload.kind, row]));
    expect(byKind.reminder?.available_at.getTime()).toBe(Date.parse(inDays(7)) - DAY);
    expect(byKind.overdue?.available_at.getTime()).toBe(Date.parse(inDays(7)));
    // Still waiting in Postgres, not in Redis: a restart or a Redis flush loses nothing.
    expect(due.every((row) => row.enqueued_at === null)).toBe(true);
  });

  it('returns the first remediation for a repeated Idempotency-Key', async () => {
    const first = await request({}, { 'idempotency-key': 'client-key-0001' });
    const second = await request({ devices: ['other'] }, { 'idempotency-key': 'client-key-0001' });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.remediation.id).toBe(first.body.remediation.id);
  });

  it('refuses bad input with the failing paths and a due date in the past by its code', async () => {
    const bad = await request({ devices: [], priority: 'urgent' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual([
      'devices',
      'priority',
    ]);
    const past = await request({ dueAt: new Date(clock.now().getTime() - HOUR).toISOString() });
    expect(past.status).toBe(400);
    expect(past.body.error.code).toBe('remediation.due_date_in_past');
  });
});

describe('completion and exceptions', () => {
  it('completes through the API, tells the requester, and refuses an exception afterwards', async () => {
    const { body } = await request({});
    const id = body.remediation.id as string;
    const done = await vigil.api('POST', `/api/remediations/${id}/complete`, {});
    expect(done.status).toBe(200);
    expect(((await done.json()) as any).remediation).toMatchObject({
      status: 'completed',
      completedBy: 'api:service',
    });
    const again = await vigil.api('POST', `/api/remediations/${id}/complete`, {});
    expect(((await again.json()) as any).changed).toBe(false);
    const late = await vigil.api('POST', `/api/remediations/${id}/exception`, {
      reason: 'false_positive',
      justification: 'x',
      expiresAt: inDays(3),
    });
    expect(late.status).toBe(409);
    await eventually(async () =>
      (await detail(id)).audit.some(
        (row: any) => row.action === 'remediation.notice_sent' && row.details.kind === 'completed',
      ),
    );
  });

  it.each(EXCEPTION_REASONS)('files an exception for %s, listed apart from remediations', async (reason) => {
    const { body } = await request({ recommendation: `Exception case ${reason}` });
    const id = body.remediation.id as string;
    const response = await vigil.api('POST', `/api/remediations/${id}/exception`, {
      reason,
      justification: `Because ${reason}`,
      expiresAt: inDays(30),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as any).remediation).toMatchObject({
      status: 'exception',
      exception: { reason, justification: `Because ${reason}`, filedBy: 'api:service' },
    });
    const exceptions = (await (
      await vigil.api('GET', '/api/remediations?view=exceptions&limit=500')
    ).json()) as any;
    expect(exceptions.remediations.map((r: { id: string }) => r.id)).toContain(id);
    const active = (await (await vigil.api('GET', '/api/remediations?limit=500')).json()) as any;
    expect(active.remediations.map((r: { id: string }) => r.id)).not.toContain(id);
  });

  it('refuses an exception without a justification or expiring in the past', async () => {
    const { body } = await request({});
    const id = body.remediation.id as string;
    const blank = await vigil.api('POST', `/api/remediations/${id}/exception`, {
      reason: 'compensating_control',
      justification: '  ',
      expiresAt: inDays(1),
    });
    expect(blank.status).toBe(400);
    const past = await vigil.api('POST', `/api/remediations/${id}/exception`, {
      reason: 'compensating_control',
      justification: 'WAF',
      expiresAt: inDays(-1),
    });
    expect(((await past.json()) as any).error.code).toBe('remediation.exception_expiry_in_past');
  });

  it('reopens the remediation when its exception expires, and says so', async () => {
    const { body } = await request({});
    const id = body.remediation.id as string;
    await vigil.api('POST', `/api/remediations/${id}/exception`, {
      reason: 'planned_remediation',
      justification: 'Patch window on Saturday',
      expiresAt: inDays(2),
    });
    // The expiry job running early (clock not there yet) changes nothing.
    await releaseDelayed(id, 'exception_expiry');
    await eventually(async () => {
      const rows = await vigil.handle.db
        .selectFrom('outbox')
        .select('completed_at')
        .where('topic', '=', 'remediation_due')
        .where(sql<string>`payload->>'remediationId'`, '=', id)
        .where(sql<string>`payload->>'kind'`, '=', 'exception_expiry')
        .execute();
      return rows.length > 0 && rows.every((row) => row.completed_at !== null);
    });
    expect((await detail(id)).status).toBe('exception');

    clock.advance(2 * DAY);
    try {
      await sql`INSERT INTO outbox (topic, payload) VALUES ('remediation_due', ${JSON.stringify({
        remediationId: id,
        kind: 'exception_expiry',
      })}::jsonb)`.execute(vigil.handle.db);
      vigil.relay?.kick();
      const reopened = await eventually(async () => {
        const current = await detail(id);
        return current.status === 'open' ? current : undefined;
      });
      expect(reopened.exception).toBeNull();
      const expired = reopened.audit.find((row: any) => row.action === 'remediation.exception_expired');
      expect(expired.details.message).toMatch(
        /Planned remediation \(grace period\)\) expired on .*open again/,
      );
      await eventually(async () =>
        (await detail(id)).audit.some(
          (row: any) => row.action === 'remediation.notice_sent' && row.details.kind === 'exception_expired',
        ),
      );
    } finally {
      clock.advance(-2 * DAY);
    }
  });

  it('marks unfinished work overdue when the due date comes', async () => {
    const { body } = await request({ dueAt: inDays(1) });
    const id = body.remediation.id as string;
    clock.advance(DAY);
    try {
      await releaseDelayed(id, 'overdue');
      const overdue = await eventually(async () => {
        const current = await detail(id);
        return current.status === 'overdue' ? current : undefined;
      });
      expect(overdue.audit.find((row: any) => row.action === 'remediation.mark_overdue').actorKey).toBe(
        'system',
      );
    } finally {
      clock.advance(-DAY);
    }
  });
});
