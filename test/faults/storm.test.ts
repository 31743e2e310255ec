import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StormRig } from '../helpers/storm.js';

// Short enough for CI: Slack's workspace-wide chat.update pace (one per 1.2 s) must let every one
// of these cards turn current soon after the storm. The long version is bench/storm.ts.
const rig = new StormRig({
  fingerprints: 30,
  channels: 6,
  ratePerSecond: 20,
  seconds: 15,
  settleTimeoutMs: 90_000,
});

beforeAll(() => rig.start());
afterAll(() => rig.close());

describe('a scaled-out Vigil through an alert storm with crashes and restarts', () => {
  it('keeps every alert, one current card each, and its pacing', async () => {
    const report = await rig.run();
    if (Object.values(report.problems).some((found) => found.length > 0))
      console.error(`${JSON.stringify({ ...report, problems: undefined }, null, 2)}\n${rig.diagnostics()}`);
    // Each invariant reported on its own, so one failed run shows everything that broke.
    expect.soft(report.problems.exits, 'processes ended on their own').toEqual([]);
    expect.soft(report.problems.stored, 'alerts stored exactly once').toEqual([]);
    expect.soft(report.problems.cards, 'one card per alert in its channel').toEqual([]);
    expect.soft(report.problems.current, 'cards showing the latest state').toEqual([]);
    expect.soft(report.problems.outbox, 'the outbox drained').toEqual([]);
    expect.soft(report.problems.pacing, 'per-channel pacing').toEqual([]);
    expect(report.accepted).toBeGreaterThan(0);
    expect(report.alerts).toBe(30);
  });
});
