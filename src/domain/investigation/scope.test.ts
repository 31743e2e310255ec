import { describe, expect, it } from 'vitest';
import type { AlertEntity } from '../alert/alert.js';
import { type InvestigationRule, ruleMatches } from './rule.js';
import { investigationToJoin, type OpenInvestigationScope, scopeKeys } from './scope.js';

const T0 = new Date('2026-03-01T09:00:00Z');
const entity = (kind: AlertEntity['kind'], key: string): AlertEntity => ({
  kind,
  key,
  displayName: key,
  roles: [],
  attributes: {},
});
const open = (
  id: string,
  minutesAgo: number,
  entities: OpenInvestigationScope['entities'],
  windowS = 3600,
) => ({
  id,
  createdAt: new Date(T0.getTime() - minutesAgo * 60_000),
  joinWindowSeconds: windowS,
  entities,
});

describe('scope growth', () => {
  it('maps alert entity kinds onto investigation kinds and drops the rest', () => {
    expect(
      scopeKeys([entity('oauth_application', 'app-1'), entity('registry_key', 'k'), entity('ip', '1.2.3.4')]),
    ).toEqual(['app:app-1', 'ip:1.2.3.4']);
  });

  it('joins the newest open investigation sharing an entity within its window', () => {
    const candidates = [
      open('older', 50, [{ kind: 'user', key: 'adele' }]),
      open('newer', 10, [{ kind: 'user', key: 'adele' }]),
      open('other', 5, [{ kind: 'user', key: 'bob' }]),
    ];
    expect(investigationToJoin([entity('user', 'adele')], candidates, T0)).toBe('newer');
  });

  it('needs the same kind and key', () => {
    const candidates = [open('a', 1, [{ kind: 'device', key: 'adele' }])];
    expect(investigationToJoin([entity('user', 'adele')], candidates, T0)).toBeNull();
  });

  it('does not join an investigation past its window', () => {
    const candidates = [open('a', 61, [{ kind: 'user', key: 'adele' }])];
    expect(investigationToJoin([entity('user', 'adele')], candidates, T0)).toBeNull();
    expect(
      investigationToJoin([entity('user', 'adele')], [open('b', 60, [{ kind: 'user', key: 'adele' }])], T0),
    ).toBe('b');
  });
});

describe('investigation rules', () => {
  const rule: InvestigationRule = {
    id: 'r',
    name: 'r',
    source: null,
    minSeverity: 'medium',
    category: null,
    automation: 'semi',
    enabled: true,
  };
  const alert = { source: 'graph', severity: 'high' as const, category: 'malware' };
  it('matches on source, minimum severity and category; null matches all', () => {
    expect(ruleMatches(rule, alert)).toBe(true);
    expect(ruleMatches({ ...rule, source: 'idp' }, alert)).toBe(false);
    expect(ruleMatches({ ...rule, source: 'graph' }, alert)).toBe(true);
    expect(ruleMatches({ ...rule, minSeverity: 'critical' }, alert)).toBe(false);
    expect(ruleMatches({ ...rule, minSeverity: 'high' }, alert)).toBe(true);
    expect(ruleMatches({ ...rule, category: 'phish' }, alert)).toBe(false);
    expect(ruleMatches({ ...rule, enabled: false }, alert)).toBe(false);
  });
});
