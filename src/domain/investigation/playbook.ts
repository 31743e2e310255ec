import { z } from 'zod';
import { fail, ok, type Result } from '../result.js';
import { InvestigationErrorCode } from './investigation.errors.js';

/**
 * The enrichment providers a step may name. `http` is a configurable lookup against any
 * service (its URL template, headers and verdict mapping are the step's params).
 */
export const ENRICHMENT_PROVIDERS = [
  'related_alerts',
  'entity_history',
  'watchlist',
  'oauth_app_risk',
  'http',
] as const;
export type EnrichmentProviderName = (typeof ENRICHMENT_PROVIDERS)[number];

const stepSchema = z
  .object({
    /** Unique within the playbook: the step log and findings are keyed by it. */
    key: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'lower-case letters, digits, and . _ - only'),
    provider: z.enum(ENRICHMENT_PROVIDERS),
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

/**
 * A playbook as data: ordered steps per alert kind (the alert's category, such as `malware` or
 * `compromised_user`), with `default` for every other kind. Stored on the rule and snapshotted
 * onto each investigation when it starts, so editing a rule never changes a running investigation.
 */
export const playbookSchema = z
  .object({
    name: z.string().min(1).max(200),
    steps: z
      .record(z.string().min(1).max(200), z.array(stepSchema).min(1).max(50))
      .refine((steps) => 'default' in steps, { message: 'needs a "default" list of steps' })
      .refine(
        (steps) => Object.values(steps).every((list) => new Set(list.map((s) => s.key)).size === list.length),
        { message: 'step keys must be unique within each list' },
      ),
  })
  .strict();

export type Playbook = z.output<typeof playbookSchema>;
export type PlaybookStep = Playbook['steps'][string][number];

/** Parses a playbook from a rule or an API body; the issues name the failing paths. */
export function parsePlaybook(input: unknown): Result<Playbook> {
  const parsed = playbookSchema.safeParse(input);
  if (parsed.success) return ok(parsed.data);
  return fail(
    InvestigationErrorCode.InvalidPlaybook,
    `Invalid playbook: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(playbook)'}: ${i.message}`).join('; ')}`,
  );
}

/** The steps for an alert of this kind (category), falling back to `default`. */
export function stepsFor(playbook: Playbook, alertKind: string | null): readonly PlaybookStep[] {
  return (alertKind === null ? undefined : playbook.steps[alertKind]) ?? playbook.steps.default ?? [];
}

/** The playbook of a rule that names none, and of investigations started by hand without a rule. */
export const DEFAULT_PLAYBOOK: Playbook = {
  name: 'Default',
  steps: {
    default: [
      { key: 'related-alerts', provider: 'related_alerts', params: {} },
      { key: 'entity-history', provider: 'entity_history', params: {} },
      { key: 'watchlist', provider: 'watchlist', params: {} },
      { key: 'oauth-app-risk', provider: 'oauth_app_risk', params: {} },
    ],
  },
};
