import { type Severity, severityRank } from '../alert/alert.js';

/** How far remediation goes by itself, per rule. */
export const AUTOMATION_LEVELS = ['full', 'semi', 'none'] as const;
/**
 * - `full`: proposed actions are approved by policy and run at once (high-impact ones still wait for two people);
 * - `semi`: every action waits for approval;
 * - `none`: recommendations only, no actions are proposed.
 */
export type AutomationLevel = (typeof AUTOMATION_LEVELS)[number];

/** Which alerts start an investigation by themselves; null matchers match every alert. */
export interface InvestigationRule {
  readonly id: string;
  readonly name: string;
  readonly source: string | null;
  readonly minSeverity: Severity;
  readonly category: string | null;
  readonly automation: AutomationLevel;
  readonly enabled: boolean;
}

/** Does this alert start an investigation under this rule? Storage applies the same test in SQL. */
export function ruleMatches(
  rule: InvestigationRule,
  alert: { readonly source: string; readonly severity: Severity; readonly category: string | null },
): boolean {
  return (
    rule.enabled &&
    (rule.source === null || rule.source === alert.source) &&
    severityRank(alert.severity) >= severityRank(rule.minSeverity) &&
    (rule.category === null || rule.category === alert.category)
  );
}
