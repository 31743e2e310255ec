import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeEnrichment } from '../fakes/enrichment.js';
import { eventually, startTestVigil, type TestVigil } from '../helpers/harness.js';

// An alert sender chooses entity keys; an http enrichment step puts them in a URL that carries
// the step's secret header. Keys must not climb that URL, and one alert must not become
// thousands of calls.
let vigil: TestVigil;
let enrichment: FakeEnrichment;

beforeAll(async () => {
  process.env.VIGIL_SECRET_TI = 'ti-token-123';
  enrichment = await new FakeEnrichment().start();
  vigil = await startTestVigil({ env: { VIGIL_ENRICHMENT_MAX_CALLS: '3' }, relayTimings: { pollMs: 100 } });
  const rule = await vigil.api('POST', '/api/investigation-rules', {
    name: 'Intel',
    source: 'hostile',
    automation: 'none',
    playbook: {
      name: 'Intel',
      steps: {
        default: [
          {
            key: 'threat-intel',
            provider: 'http',
            params: {
              url: `${enrichment.url}/lookup/{kind}/{key}`,
              headers: { Authorization: 'Bearer {secret:VIGIL_SECRET_TI}' },
              kinds: ['user'],
              verdictField: 'data.verdict',
              timeoutMs: 2_000,
              retries: 0,
            },
          },
        ],
      },
    },
  });
  expect(rule.status).toBe(201);
});
afterAll(async () => {
  await vigil?.close();
  await enrichment?.stop();
});

/** Ingests an alert naming these users and waits for its investigation's threat-intel step. */
async function intelStepFor(id: string, users: readonly string[]): Promise<any> {
  const response = await vigil.ingest('generic', {
    title: `Hostile keys ${id}`,
    source: 'hostile',
    severity: 'high',
    id,
    entities: users.map((user) => ({ kind: 'user', id: user })),
  });
  expect(response.status).toBe(202);
  const alertId = ((await response.json()) as any).alerts[0].id as string;
  return eventually(
    async () => {
      const alert = (await (await vigil.api('GET', `/api/alerts/${alertId}`)).json()) as any;
      const investigation = alert.investigations[0];
      if (investigation === undefined) return undefined;
      const detail = (await (
        await vigil.api('GET', `/api/investigations/${investigation.id}`)
      ).json()) as any;
      return detail.log.find((step: any) => step.stepKey === 'threat-intel');
    },
    20_000,
    'the threat-intel step',
  );
}

describe('http enrichment', () => {
  it('never puts a key that is . or .. or holds a path separator (decoded any number of times) into the path', async () => {
    const before = enrichment.calls.length;
    // Lower case throughout: user keys may be normalised to lower case when stored.
    const hostile = [
      '..',
      '.',
      '%2e%2e',
      '%252e%252e',
      'a/../../admin',
      '..%2fadmin',
      '%255c..%255cadmin',
      'x\\y',
    ];
    const step = await intelStepFor('hostile-1', ['fine@contoso.com', ...hostile]);
    expect(step.outcome).toBe('succeeded');
    const calls = enrichment.calls.slice(before);
    expect(calls.map((call) => call.path)).toEqual(['/lookup/user/fine%40contoso.com']);
    expect(step.summary.lookedUp).toBe(1);
    expect(step.summary.skippedCount).toBe(hostile.length);
    expect(step.summary.skipped.map((skipped: any) => skipped.key).sort()).toEqual([...hostile].sort());
    expect(step.summary.skipped.find((skipped: any) => skipped.key === '..').reason).toMatch(/relative path/);
    expect(step.summary.skipped.find((skipped: any) => skipped.key === '%255c..%255cadmin').reason).toMatch(
      /path separator/,
    );
  });

  it('looks up at most VIGIL_ENRICHMENT_MAX_CALLS entities per round and logs the rest as skipped', async () => {
    const before = enrichment.calls.length;
    const users = Array.from({ length: 7 }, (_, i) => `user${i}@contoso.com`);
    const step = await intelStepFor('many-1', users);
    expect(step.outcome).toBe('succeeded');
    expect(enrichment.calls.length - before).toBe(3);
    expect(step.summary).toMatchObject({ lookedUp: 3, skippedCount: 4 });
    expect(step.summary.skipped).toHaveLength(4);
    expect(step.summary.skipped[0].reason).toBe(
      'over the cap of 3 lookups per round (VIGIL_ENRICHMENT_MAX_CALLS)',
    );
  });
});
