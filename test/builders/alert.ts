import type { Actor, Alert, AlertDraft, AlertEntity } from '../../src/domain/index.js';

/** The instant the builders' times start from; tests move away from it with {@link at}. */
export const T0 = new Date('2026-03-01T09:00:00.000Z');

/** A fresh Date `ms` milliseconds after {@link T0}. */
export const at = (ms: number): Date => new Date(T0.getTime() + ms);

export type UserActor = Extract<Actor, { kind: 'user' }>;

/** A person acting from Slack (or wherever the overrides say). */
export function aUser(overrides: Partial<Omit<UserActor, 'kind'>> = {}): UserActor {
  return { kind: 'user', platform: 'slack', id: 'U0123', ...overrides };
}

/** An alert source acting on its own (an Alertmanager `resolved`). */
export const aSource = (source = 'alertmanager'): Actor => ({ kind: 'source', source });

/** A policy acting on its own. */
export const aPolicy = (policyId = 'policy-1', name = 'Auto-isolate'): Actor => ({
  kind: 'policy',
  policyId,
  name,
});

export function anEntity(overrides: Partial<AlertEntity> = {}): AlertEntity {
  return {
    kind: 'user',
    key: 'alice@example.com',
    displayName: 'Alice Example',
    roles: ['compromised'],
    attributes: {},
    ...overrides,
  };
}

export function aDraft(overrides: Partial<AlertDraft> = {}): AlertDraft {
  return {
    source: 'generic',
    sourceId: 'src-1',
    title: 'Suspicious sign-in',
    description: 'A sign-in from an unfamiliar location.',
    severity: 'medium',
    category: 'InitialAccess',
    fingerprint: 'fp-1',
    policyName: null,
    policyUrl: null,
    entities: [anEntity()],
    labels: { team: 'secops' },
    links: [],
    occurredAt: at(0),
    determination: null,
    raw: { id: 'src-1' },
    ...overrides,
  };
}

export function anAlert(overrides: Partial<Alert> = {}): Alert {
  const { occurredAt: _occurredAt, raw: _raw, ...draft } = aDraft();
  return {
    ...draft,
    id: 'alert-1',
    status: 'new',
    classification: null,
    resolutionComment: null,
    firstSeenAt: at(0),
    lastSeenAt: at(0),
    occurrenceCount: 1,
    assignee: null,
    statusChangedBy: null,
    statusChangedAt: null,
    previousAlertId: null,
    vigilPolicy: null,
    version: 1,
    createdAt: at(0),
    updatedAt: at(0),
    ...overrides,
  };
}
