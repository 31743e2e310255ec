import { describe, expect, it } from 'vitest';
import type { AlertEntity } from '../alert/alert.js';
import { decidePolicies, PolicyIndex, type PolicySubject } from './policy.evaluate.js';
import type { Policy, PolicyConditions } from './policy.js';
import { issuePath, policiesFileSchema } from './policy.schema.js';

const aPolicy = (
  name: string,
  conditions: PolicyConditions,
  position = 0,
  extra: Partial<Policy> = {},
): Policy => ({
  id: `id-${name}`,
  name,
  version: 1,
  enabled: true,
  position,
  conditions,
  actions: [{ type: 'record' }],
  ...extra,
});

const subject = (overrides: Partial<PolicySubject> = {}): PolicySubject => ({
  source: 'graph',
  severity: 'high',
  category: 'InitialAccess',
  labels: { team: 'identity', env: 'prod' },
  entities: [],
  ...overrides,
});

const app = (attributes: Record<string, unknown>): AlertEntity => ({
  kind: 'oauth_application',
  key: 'app-1',
  displayName: 'Contoso Mail Sync',
  roles: [],
  attributes,
});

const names = (index: PolicyIndex, s: PolicySubject) => index.match(s).map((m) => m.policy.name);

describe('policy matching', () => {
  it('checks source and minimum severity through the index', () => {
    const index = new PolicyIndex([
      aPolicy('graph-high', { sources: ['graph'], severityAtLeast: 'high' }, 0),
      aPolicy('any-critical', { severityAtLeast: 'critical' }, 1),
      aPolicy('am', { sources: ['alertmanager'] }, 2),
      aPolicy('anything', {}, 3),
    ]);
    expect(names(index, subject())).toEqual(['graph-high', 'anything']);
    expect(names(index, subject({ severity: 'critical' }))).toEqual([
      'graph-high',
      'any-critical',
      'anything',
    ]);
    expect(names(index, subject({ severity: 'medium' }))).toEqual(['anything']);
    expect(names(index, subject({ source: 'alertmanager', severity: 'low' }))).toEqual(['am', 'anything']);
    expect(names(index, subject({ source: 'other', severity: 'critical' }))).toEqual([
      'any-critical',
      'anything',
    ]);
  });

  it('skips disabled policies', () => {
    const index = new PolicyIndex([aPolicy('off', {}, 0, { enabled: false })]);
    expect(names(index, subject())).toEqual([]);
  });

  it.each([
    [{ name: 'team', op: '=', value: 'identity' }, true],
    [{ name: 'team', op: '!=', value: 'identity' }, false],
    [{ name: 'env', op: '=~', value: 'prod|staging' }, true],
    [{ name: 'env', op: '=~', value: 'pro' }, false],
    [{ name: 'env', op: '!~', value: 'dev.*' }, true],
    [{ name: 'missing', op: '=', value: '' }, true],
    [{ name: 'missing', op: '!=', value: '' }, false],
  ] as const)('label matcher %o → %s', (matcher, expected) => {
    const index = new PolicyIndex([aPolicy('p', { labels: [matcher] })]);
    expect(names(index, subject()).length === 1).toBe(expected);
  });

  it('matches entities by kind and key glob, categories without case', () => {
    const user: AlertEntity = {
      kind: 'user',
      key: 'alice@contoso.com',
      displayName: 'Alice',
      roles: [],
      attributes: {},
    };
    const index = new PolicyIndex([
      aPolicy('contoso-users', { entities: [{ kind: 'user', key: '*@contoso.com' }] }, 0),
      aPolicy('any-device', { entities: [{ kind: 'device' }] }, 1),
      aPolicy('cat', { categories: ['initialaccess'] }, 2),
    ]);
    expect(names(index, subject({ entities: [user] }))).toEqual(['contoso-users', 'cat']);
    expect(
      names(index, subject({ entities: [{ ...user, key: 'bob@fabrikam.com' }], category: null })),
    ).toEqual([]);
  });

  it('reads OAuth app permissions, publisher verification and consent scope', () => {
    const index = new PolicyIndex([
      aPolicy('risky-app', {
        oauthApp: {
          permissionsAny: ['Mail.ReadWrite', 'Files.ReadWrite.All'],
          publisherVerified: false,
          consentScope: 'user',
        },
      }),
    ]);
    const risky = app({
      permissions: ['mail.readwrite', 'User.Read'],
      publisherVerified: false,
      consentType: 'Principal',
    });
    expect(names(index, subject({ entities: [risky] }))).toEqual(['risky-app']);
    expect(
      names(index, subject({ entities: [app({ ...risky.attributes, publisherVerified: true })] })),
    ).toEqual([]);
    expect(
      names(index, subject({ entities: [app({ ...risky.attributes, consentScope: 'admin' })] })),
    ).toEqual([]);
    expect(
      names(index, subject({ entities: [app({ ...risky.attributes, permissions: ['User.Read'] })] })),
    ).toEqual([]);
  });

  it('combines actions: routes and pages of all, the first names the alert and the first remediation runs', () => {
    const index = new PolicyIndex([
      aPolicy('first', {}, 0, {
        actions: [
          { type: 'route', slack: ['C1'] },
          { type: 'page', escalationPolicy: 'sec' },
        ],
      }),
      aPolicy('second', {}, 1, {
        actions: [
          { type: 'route', slack: ['C1', 'C2'], teams: ['19:x'] },
          { type: 'remediate', steps: [{ action: 'revoke_oauth_consent' }] },
          { type: 'page', escalationPolicy: 'sec' },
        ],
      }),
    ]);
    const decision = decidePolicies(index.match(subject()));
    expect(decision.primary?.name).toBe('first');
    expect(decision.routes).toEqual({ slack: ['C1', 'C2'], teams: ['19:x'] });
    expect(decision.pages.map((p) => p.escalationPolicy)).toEqual(['sec']);
    expect(decision.remediation?.policy.name).toBe('second');
  });
});

describe('policies file schema', () => {
  it('lists every error with its path', () => {
    const parsed = policiesFileSchema.safeParse({
      policies: [
        { name: 'ok', actions: [{ type: 'record' }] },
        { name: 'ok', actions: [] },
        {
          name: 'bad',
          conditions: { severityAtLeast: 'huge', labels: [{ name: 'a', op: '=~', value: '(' }] },
          actions: [{ type: 'page', escalationPolicy: 'nope' }],
        },
      ],
    });
    expect(parsed.success).toBe(false);
    const paths = parsed.error?.issues.map((issue) => issuePath(issue.path)).sort();
    expect(paths).toEqual(
      expect.arrayContaining([
        'policies[1].actions',
        'policies[2].conditions.severityAtLeast',
        'policies[2].conditions.labels[0].value',
      ]),
    );
  });

  it('checks references and duplicate names once the shapes are right', () => {
    const parsed = policiesFileSchema.safeParse({
      policies: [
        { name: 'a', actions: [{ type: 'page', escalationPolicy: 'nope' }] },
        { name: 'a', actions: [{ type: 'record' }] },
      ],
      escalationPolicies: [
        { name: 'sec', levels: [{ targets: [{ type: 'schedule', schedule: 'missing' }], waitMinutes: 5 }] },
      ],
    });
    expect(parsed.error?.issues.map((issue) => issuePath(issue.path)).sort()).toEqual([
      'escalationPolicies[0].levels[0].targets[0].schedule',
      'policies[0].actions[0].escalationPolicy',
      'policies[1].name',
    ]);
  });
});

describe('diffByName', () => {
  it('sorts names into added, changed, removed and unchanged, ignoring key order', async () => {
    const { diffByName } = await import('./policy.diff.js');
    const diff = diffByName(
      [
        { name: 'a', value: { x: 1, y: 2 } },
        { name: 'b', value: { x: 1 } },
        { name: 'c', value: { x: 1 } },
      ],
      [
        { name: 'a', value: { y: 2, x: 1 } },
        { name: 'b', value: { x: 2 } },
        { name: 'd', value: { x: 1 } },
      ],
    );
    expect(diff.unchanged).toEqual(['a']);
    expect(diff.changed.map((c) => c.name)).toEqual(['b']);
    expect(diff.added.map((c) => c.name)).toEqual(['d']);
    expect(diff.removed.map((c) => c.name)).toEqual(['c']);
  });
});
