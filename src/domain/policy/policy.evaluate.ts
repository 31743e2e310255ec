import { type AlertEntity, SEVERITIES, type Severity, severityRank } from '../alert/alert.js';
import { compileEntityMatcher, compileLabelMatcher } from './matchers.js';
import type { OAuthAppConditions, Policy, PolicyAction, RemediationStep } from './policy.js';

/** The parts of an alert a policy looks at: a draft at ingest, or a stored alert. */
export interface PolicySubject {
  readonly source: string;
  readonly severity: Severity;
  readonly category: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly entities: readonly AlertEntity[];
}

type Test = (subject: PolicySubject) => boolean;

/** A policy with its matchers built once (regexes, sets), ready to test many alerts. */
export interface CompiledPolicy {
  readonly policy: Policy;
  readonly minRank: number;
  readonly test: Test;
}

const lowerSet = (values: readonly string[]) => new Set(values.map((value) => value.toLowerCase()));

/** Reads the app governance attributes, accepting Graph's spellings alongside Vigil's. */
function oauthFacts(entity: AlertEntity): {
  permissions: Set<string>;
  verified: boolean | null;
  scope: string | null;
} {
  const a = entity.attributes;
  const rawPermissions = a.permissions ?? a.scopes;
  const permissions = Array.isArray(rawPermissions)
    ? lowerSet(rawPermissions.filter((p): p is string => typeof p === 'string'))
    : new Set<string>();
  const verifiedValue = a.publisherVerified ?? a.verifiedPublisher ?? a.isPublisherVerified;
  const verified =
    typeof verifiedValue === 'boolean'
      ? verifiedValue
      : typeof verifiedValue === 'object' && verifiedValue !== null;
  const scopeValue = String(a.consentScope ?? a.consentType ?? '').toLowerCase();
  const scope =
    scopeValue === 'admin' || scopeValue === 'allprincipals'
      ? 'admin'
      : scopeValue === 'user' || scopeValue === 'principal'
        ? 'user'
        : null;
  return { permissions, verified: verifiedValue === undefined ? null : verified, scope };
}

function compileOAuth(conditions: OAuthAppConditions): Test {
  const wanted = conditions.permissionsAny === undefined ? null : lowerSet(conditions.permissionsAny);
  return (subject) =>
    subject.entities.some((entity) => {
      if (entity.kind !== 'oauth_application') return false;
      const facts = oauthFacts(entity);
      if (wanted !== null && ![...facts.permissions].some((permission) => wanted.has(permission)))
        return false;
      if (conditions.publisherVerified !== undefined && facts.verified !== conditions.publisherVerified)
        return false;
      if (conditions.consentScope !== undefined && facts.scope !== conditions.consentScope) return false;
      return true;
    });
}

/** Builds a policy's tests once; cheap ones run first so most alerts are turned away early. */
export function compilePolicy(policy: Policy): CompiledPolicy {
  const c = policy.conditions;
  const tests: Test[] = [];
  if (c.categories !== undefined && c.categories.length > 0) {
    const categories = lowerSet(c.categories);
    tests.push((s) => s.category !== null && categories.has(s.category.toLowerCase()));
  }
  for (const matcher of c.labels ?? []) {
    const test = compileLabelMatcher(matcher);
    tests.push((s) => test(s.labels));
  }
  for (const matcher of c.entities ?? []) {
    const test = compileEntityMatcher(matcher);
    tests.push((s) => test(s.entities));
  }
  if (c.oauthApp !== undefined) tests.push(compileOAuth(c.oauthApp));
  return {
    policy,
    minRank: c.severityAtLeast === undefined ? 0 : severityRank(c.severityAtLeast),
    test: (subject) => tests.every((test) => test(subject)),
  };
}

/**
 * Enabled policies, compiled and indexed by source and minimum severity: an alert is tested only
 * against the policies of its source (plus those for any source) whose minimum severity it
 * reaches. Lists keep the policies' order, so the first match is the policy that names the alert.
 */
export class PolicyIndex {
  readonly #bySource = new Map<string, CompiledPolicy[][]>();
  readonly #anySource: CompiledPolicy[][];
  readonly size: number;

  constructor(policies: readonly Policy[]) {
    const enabled = policies.filter((policy) => policy.enabled).sort((a, b) => a.position - b.position);
    this.size = enabled.length;
    // One list per severity rank: the list for rank r holds the policies an alert of rank r may match.
    const byRank = (list: CompiledPolicy[]) =>
      SEVERITIES.map((_, rank) => list.filter((p) => p.minRank <= rank));
    const any: CompiledPolicy[] = [];
    const perSource = new Map<string, CompiledPolicy[]>();
    for (const policy of enabled) {
      const compiled = compilePolicy(policy);
      const sources = policy.conditions.sources;
      if (sources === undefined || sources.length === 0) {
        any.push(compiled);
        continue;
      }
      for (const source of new Set(sources.map((s) => s.toLowerCase()))) {
        const list = perSource.get(source) ?? [];
        list.push(compiled);
        perSource.set(source, list);
      }
    }
    this.#anySource = byRank(any);
    for (const [source, list] of perSource) {
      // A source's lists include the any-source policies, merged back into policy order.
      const merged = [...list, ...any].sort((a, b) => a.policy.position - b.policy.position);
      this.#bySource.set(source, byRank(merged));
    }
  }

  /** Every enabled policy the alert matches, in policy order. */
  match(subject: PolicySubject): CompiledPolicy[] {
    const rank = severityRank(subject.severity);
    const lists = this.#bySource.get(subject.source.toLowerCase()) ?? this.#anySource;
    const candidates = lists[rank] ?? [];
    const matched: CompiledPolicy[] = [];
    for (const candidate of candidates) if (candidate.test(subject)) matched.push(candidate);
    return matched;
  }
}

/** What the matching policies together ask for one alert. */
export interface PolicyDecision {
  /** The first matching policy: it names the alert (policy name and View policy link). */
  readonly primary: Policy | null;
  readonly matched: readonly Policy[];
  readonly routes: { readonly slack: readonly string[]; readonly teams: readonly string[] };
  /** Escalation policy names to page, each with the policy that asked. */
  readonly pages: readonly { readonly escalationPolicy: string; readonly policy: Policy }[];
  readonly investigations: readonly {
    readonly policy: Policy;
    readonly action: Extract<PolicyAction, { type: 'investigate' }>;
  }[];
  /** The first auto-remediating policy: its steps run, then it resolves the alert. */
  readonly remediation: { readonly policy: Policy; readonly steps: readonly RemediationStep[] } | null;
}

export function decidePolicies(matched: readonly CompiledPolicy[]): PolicyDecision {
  const slack = new Set<string>();
  const teams = new Set<string>();
  const pages: { escalationPolicy: string; policy: Policy }[] = [];
  const investigations: PolicyDecision['investigations'][number][] = [];
  let remediation: PolicyDecision['remediation'] = null;
  for (const { policy } of matched) {
    for (const action of policy.actions) {
      switch (action.type) {
        case 'route':
          for (const channel of action.slack ?? []) slack.add(channel);
          for (const conversation of action.teams ?? []) teams.add(conversation);
          break;
        case 'page':
          if (!pages.some((page) => page.escalationPolicy === action.escalationPolicy)) {
            pages.push({ escalationPolicy: action.escalationPolicy, policy });
          }
          break;
        case 'investigate':
          investigations.push({ policy, action });
          break;
        case 'remediate':
          remediation ??= { policy, steps: action.steps };
          break;
        case 'record':
          break;
      }
    }
  }
  return {
    primary: matched[0]?.policy ?? null,
    matched: matched.map((m) => m.policy),
    routes: { slack: [...slack], teams: [...teams] },
    pages,
    investigations,
    remediation,
  };
}
