import { z } from 'zod';
import { ENTITY_KINDS, SEVERITIES } from '../alert/alert.js';
import { ACTION_KINDS } from '../approval/action.js';
import { AUTOMATION_LEVELS } from '../investigation/rule.js';
import { LABEL_OPS, PATTERN_MAX_LENGTH, regexProblem } from './matchers.js';
import { CONSENT_SCOPES } from './policy.js';

/** Names people type in files and chat: letters, digits and `._ -`. */
const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$/, 'letters, digits, space and . _ - (at most 100)');

export const labelMatcherSchema = z
  .object({
    name: z.string().min(1).max(200),
    op: z.enum(LABEL_OPS).default('='),
    value: z.string().max(PATTERN_MAX_LENGTH),
  })
  .superRefine((matcher, ctx) => {
    if (matcher.op !== '=~' && matcher.op !== '!~') return;
    const problem = regexProblem(matcher.value);
    if (problem !== null)
      ctx.addIssue({ code: 'custom', path: ['value'], message: `pattern refused: ${problem}` });
  });

export const entityMatcherSchema = z.object({
  kind: z.enum(ENTITY_KINDS),
  key: z.string().min(1).max(PATTERN_MAX_LENGTH).optional(),
});

export const policyConditionsSchema = z
  .object({
    sources: z.array(z.string().min(1).max(63).toLowerCase()).max(50).optional(),
    severityAtLeast: z.enum(SEVERITIES).optional(),
    categories: z.array(z.string().min(1).max(200)).max(50).optional(),
    labels: z.array(labelMatcherSchema).max(50).optional(),
    entities: z.array(entityMatcherSchema).max(50).optional(),
    oauthApp: z
      .object({
        permissionsAny: z.array(z.string().min(1).max(200)).min(1).max(100).optional(),
        publisherVerified: z.boolean().optional(),
        consentScope: z.enum(CONSENT_SCOPES).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const slackChannel = z.string().regex(/^[CG][A-Z0-9]{2,20}$/, 'a Slack channel ID such as C0123ABCD');

export const policyActionSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('route'),
      slack: z.array(slackChannel).max(20).optional(),
      teams: z.array(z.string().min(1).max(500)).max(20).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('investigate'),
      playbook: z.string().min(1).max(200),
      automation: z.enum(AUTOMATION_LEVELS).default('none'),
    })
    .strict(),
  z
    .object({
      type: z.literal('remediate'),
      steps: z
        .array(
          z
            .object({
              action: z.enum(ACTION_KINDS, { message: `must be one of ${ACTION_KINDS.join(', ')}` }),
              params: z.record(z.string(), z.unknown()).optional(),
            })
            .strict(),
        )
        .min(1)
        .max(20),
    })
    .strict(),
  z.object({ type: z.literal('page'), escalationPolicy: name }).strict(),
  z.object({ type: z.literal('record') }).strict(),
]);

export const policySpecSchema = z
  .object({
    name,
    description: z.string().max(2_000).optional(),
    enabled: z.boolean().default(true),
    conditions: policyConditionsSchema.default({}),
    actions: z.array(policyActionSchema).min(1).max(20),
  })
  .strict();

export const personSchema = z
  .object({
    name: z.string().min(1).max(200),
    slack: z
      .string()
      .regex(/^[UW][A-Z0-9]{2,20}$/, 'a Slack user ID such as U0123ABCD')
      .optional(),
    teams: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine(
    (person) => person.slack !== undefined || person.teams !== undefined,
    'give a slack or teams identity',
  );

export const rotationSchema = z
  .object({
    name,
    handoff: z.enum(['daily', 'weekly']),
    handoffTime: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 24-hour'),
    startDate: z.iso.date(),
    people: z.array(personSchema).min(1).max(100),
  })
  .strict();

export const scheduleSpecSchema = z
  .object({
    name,
    timeZone: z.string().refine((zone) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    }, 'an IANA time zone such as Europe/Paris'),
    rotations: z.array(rotationSchema).min(1).max(10),
  })
  .strict();

export const escalationTargetSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('schedule'), schedule: name }).strict(),
  z.object({ type: z.literal('person'), person: personSchema }).strict(),
]);

export const escalationPolicySpecSchema = z
  .object({
    name,
    levels: z
      .array(
        z
          .object({
            targets: z.array(escalationTargetSchema).min(1).max(20),
            waitMinutes: z
              .number()
              .positive()
              .max(24 * 60),
          })
          .strict(),
      )
      .min(1)
      .max(10),
    repeat: z.number().int().min(0).max(10).default(0),
  })
  .strict();

export const silenceSpecSchema = z
  .object({
    labels: z.array(labelMatcherSchema).max(50).default([]),
    entities: z.array(entityMatcherSchema).max(50).default([]),
    startsAt: z.coerce.date().optional(),
    endsAt: z.coerce.date(),
    comment: z.string().min(1).max(2_000),
  })
  .strict();

/**
 * A whole policies file: every policy, schedule and escalation policy the install should have.
 * Names must be unique within their list, and every name a policy or level refers to must exist.
 */
export const policiesFileSchema = z
  .object({
    policies: z.array(policySpecSchema).max(5_000).default([]),
    schedules: z.array(scheduleSpecSchema).max(500).default([]),
    escalationPolicies: z.array(escalationPolicySpecSchema).max(500).default([]),
  })
  .strict()
  .superRefine((file, ctx) => {
    const unique = (list: readonly { name: string }[], key: string) => {
      const seen = new Set<string>();
      list.forEach((item, index) => {
        if (seen.has(item.name))
          ctx.addIssue({
            code: 'custom',
            path: [key, index, 'name'],
            message: `duplicate name "${item.name}"`,
          });
        seen.add(item.name);
      });
    };
    unique(file.policies, 'policies');
    unique(file.schedules, 'schedules');
    unique(file.escalationPolicies, 'escalationPolicies');
    const escalations = new Set(file.escalationPolicies.map((e) => e.name));
    const schedules = new Set(file.schedules.map((s) => s.name));
    file.policies.forEach((policy, p) => {
      policy.actions.forEach((action, a) => {
        if (action.type === 'page' && !escalations.has(action.escalationPolicy)) {
          ctx.addIssue({
            code: 'custom',
            path: ['policies', p, 'actions', a, 'escalationPolicy'],
            message: `no escalation policy "${action.escalationPolicy}" in this file`,
          });
        }
      });
    });
    file.escalationPolicies.forEach((policy, e) => {
      policy.levels.forEach((level, l) => {
        level.targets.forEach((target, t) => {
          if (target.type === 'schedule' && !schedules.has(target.schedule)) {
            ctx.addIssue({
              code: 'custom',
              path: ['escalationPolicies', e, 'levels', l, 'targets', t, 'schedule'],
              message: `no schedule "${target.schedule}" in this file`,
            });
          }
        });
      });
    });
  });

export type PoliciesFile = z.output<typeof policiesFileSchema>;

/** `policies[2].conditions.severityAtLeast`: a zod issue's path as people read it. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) =>
      typeof key === 'number' ? `${out}[${key}]` : out === '' ? String(key) : `${out}.${String(key)}`,
    '',
  );
}
