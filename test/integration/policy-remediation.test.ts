import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestVigil, type TestVigil } from '../helpers/harness.js';

/**
 * Auto-remediation that cannot be done: no executor is configured here (a fresh install), and a
 * step may find no target on the alert. The policy never claims what did not happen: the alert
 * stays open, and a finding and the alert's trail say what could not be done and why.
 */
let vigil: TestVigil;

beforeAll(async () => {
  vigil = await startTestVigil({ relayTimings: { pollMs: 100 } });
  for (const policy of [
    {
      name: 'Sign out risky users',
      conditions: { sources: ['idp'], categories: ['RiskyUser'] },
      actions: [{ type: 'remediate', steps: [{ action: 'revoke_sessions' }] }],
    },
    {
      name: 'Isolate infected devices',
      conditions: { sources: ['edr'] },
      actions: [{ type: 'remediate', steps: [{ action: 'isolate_device' }] }],
    },
  ]) {
    expect((await vigil.api('POST', '/api/policies', policy)).status).toBe(201);
  }
});
afterAll(async () => {
  await vigil?.close();
});

const json = async (response: Response) => (await response.json()) as any;

async function ingest(body: Record<string, unknown>): Promise<string> {
  const response = await vigil.ingest('generic', { id: `${Math.random()}`, severity: 'high', ...body });
  expect(response.status).toBe(202);
  return (await json(response)).alerts[0].id;
}

/** Waits for the policy's outcome on the alert's trail, and returns the trail. */
async function settledTrail(alertId: string) {
  return eventually(
    async () => {
      const detail = await json(await vigil.api('GET', `/api/alerts/${alertId}`));
      const trail = detail.audit;
      return trail.some((row: { action: string }) => row.action === 'policy.remediation_incomplete')
        ? { detail, trail }
        : undefined;
    },
    20_000,
    'the policy to settle',
  );
}

async function remediationOf(alertId: string): Promise<any> {
  const list = await json(await vigil.api('GET', `/api/investigations?triggerAlert=${alertId}`));
  expect(list.investigations).toHaveLength(1);
  return json(await vigil.api('GET', `/api/investigations/${list.investigations[0].id}`));
}

describe('auto-remediation that cannot be done', () => {
  it('a policy with no executor leaves its alert open, with a finding saying why', async () => {
    const id = await ingest({
      title: 'Risky sign-in for adele@contoso.com',
      source: 'idp',
      category: 'RiskyUser',
      entities: [{ kind: 'user', id: 'adele@contoso.com' }],
    });
    const { detail, trail } = await settledTrail(id);
    expect(detail.status).toBe('new');
    // The step was recorded as an action requested by the policy, which failed for want of an executor.
    const investigation = await remediationOf(id);
    expect(investigation.actions).toMatchObject([
      {
        kind: 'revoke_sessions',
        status: 'failed',
        requestedBy: { kind: 'policy', name: 'Sign out risky users' },
        error: expect.stringContaining('no executor is configured for revoke_sessions'),
      },
    ]);
    expect(investigation.status).toBe('failed');
    expect(investigation.findings.map((f: { title: string }) => f.title)).toEqual([
      expect.stringMatching(/^Not done: step 1, Revoke sessions: adele@contoso.com: failed: no executor/),
    ]);
    const incomplete = trail.find(
      (row: { action: string }) => row.action === 'policy.remediation_incomplete',
    );
    expect(incomplete.actor).toMatchObject({ kind: 'policy', name: 'Sign out risky users' });
    expect(JSON.stringify(incomplete.details)).toContain('no executor is configured');
    expect(trail.some((row: { action: string }) => row.action === 'alert.status_changed')).toBe(false);
  });

  it('a step with no target on the alert leaves it open, with a finding saying so', async () => {
    const id = await ingest({
      title: 'Malware on a device that was not named',
      source: 'edr',
      entities: [{ kind: 'user', id: 'megan@contoso.com' }],
    });
    const { detail, trail } = await settledTrail(id);
    expect(detail.status).toBe('new');
    const investigation = await remediationOf(id);
    expect(investigation.actions).toEqual([]);
    expect(investigation.status).toBe('failed');
    expect(investigation.findings[0].title).toContain('no target found');
    const incomplete = trail.find(
      (row: { action: string }) => row.action === 'policy.remediation_incomplete',
    );
    expect(incomplete.details.unmet).toEqual([
      { step: 0, action: 'isolate_device', reason: expect.stringContaining('no target found') },
    ]);
  });
});
