import { describe, expect, it } from 'vitest';
import { anAlert, anEntity, at, aUser } from '../../../test/builders/alert.js';
import type { CardAction, CardAlert, CardInvestigation } from '../../domain/index.js';
import { CARD_ACTIONS } from '../card-actions.js';
import { type AlertCardModel, alertCardModel, CARD_CAPS, renderRuns } from './index.js';

const options = { publicUrl: 'https://vigil.example/' };
const card = (
  overrides: Parameters<typeof anAlert>[0] = {},
  extra: Partial<Pick<CardAlert, 'investigations' | 'incident'>> = {},
): CardAlert => ({ ...anAlert({ id: 'a1', version: 3, ...overrides }), number: '42', ...extra });
const ids = (model: AlertCardModel) => model.actions.map((action) => action.id);
const plain = (model: AlertCardModel, key: string) =>
  renderRuns(model.facts.find((fact) => fact.key === key)?.value ?? [], {
    word: (text, strong) => (strong ? `[${text}]` : text),
    text: (text) => text,
    person: (actor) => `@${actor.kind === 'user' ? actor.id : actor.kind}`,
    time: (date) => date.toISOString(),
  });

const anAction = (i: number, overrides: Partial<CardAction> = {}): CardAction => ({
  id: `act-${i}`,
  number: String(i),
  kind: 'isolate_device',
  targetDisplay: `laptop-${i}`,
  reason: ` why ${i} `,
  status: 'pending_approval',
  approvalsNeeded: 1,
  approvals: 0,
  error: null,
  ...overrides,
});
const investigation = (i: number, actions: CardAction[], status = 'pending_approval'): CardInvestigation => ({
  id: `inv-${i}`,
  number: String(i),
  status: status as CardInvestigation['status'],
  actions,
});

describe('alertCardModel: the buttons for the status', () => {
  it('offers start, resolve and assign on a New alert; resolve and assign In progress; only Reopen when Resolved', () => {
    expect(ids(alertCardModel(card({ status: 'new' }), options))).toEqual([
      CARD_ACTIONS.startProgress,
      CARD_ACTIONS.resolve,
      CARD_ACTIONS.assignToMe,
    ]);
    expect(ids(alertCardModel(card({ status: 'in_progress' }), options))).toEqual([
      CARD_ACTIONS.resolve,
      CARD_ACTIONS.assignToMe,
    ]);
    expect(
      ids(alertCardModel(card({ status: 'resolved', classification: 'true_positive' }), options)),
    ).toEqual([CARD_ACTIONS.reopen]);
    const model = alertCardModel(card({ status: 'new' }), options);
    expect(model.actions.map((action) => [action.word, action.emphasis])).toEqual([
      ['Mark in progress', 'primary'],
      ['Resolve', null],
      ['Assign to me', null],
    ]);
    expect(model.actions[0]?.target).toEqual({ kind: 'alert', alertId: 'a1', version: 3 });
  });

  it('offers Resolve incident while the incident has open alerts, on open and resolved alerts alike', () => {
    const incident = {
      id: 'inc-1',
      name: 'Incident',
      alertCount: 1,
      alertStatuses: { new: 1, in_progress: 0, resolved: 0 },
      status: 'new' as const,
    };
    const open = alertCardModel(
      card({ status: 'resolved', classification: 'true_positive' }, { incident }),
      options,
    );
    expect(open.actions.at(-1)).toMatchObject({
      id: CARD_ACTIONS.resolveIncident,
      word: 'Resolve incident (1 alert)',
      target: { kind: 'incident', incidentId: 'inc-1', alertId: 'a1', version: 3 },
    });
    expect(
      alertCardModel(card({}, { incident: { ...incident, alertCount: 3 } }), options).actions.at(-1)?.word,
    ).toBe('Resolve incident (3 alerts)');
    const done = alertCardModel(card({}, { incident: { ...incident, status: 'resolved' } }), options);
    expect(ids(done)).not.toContain(CARD_ACTIONS.resolveIncident);
    expect(done.incident).toEqual({
      name: 'Incident',
      alertsLine: '1 alert: 1 New',
      link: { label: 'Open incident', url: 'https://vigil.example/console/#/incidents/inc-1' },
    });
  });

  it('offers Investigate on an open alert that no open investigation covers', () => {
    expect(alertCardModel(card(), options).investigate?.id).toBe(CARD_ACTIONS.investigate);
    expect(
      alertCardModel(card({}, { investigations: [investigation(1, [], 'running')] }), options).investigate,
    ).toBeNull();
    expect(
      alertCardModel(card({}, { investigations: [investigation(1, [], 'failed')] }), options).investigate,
    ).not.toBeNull();
    expect(
      alertCardModel(card({ status: 'resolved', classification: 'false_positive' }), options).investigate,
    ).toBeNull();
  });
});

describe('alertCardModel: what the card says', () => {
  it('says status, classification, who and when in one vocabulary, and Nobody for no assignee', () => {
    const resolved = alertCardModel(
      card({
        status: 'resolved',
        classification: 'false_positive',
        statusChangedBy: aUser({ id: 'U1' }),
        statusChangedAt: at(0),
        resolutionComment: '  scanner  ',
      }),
      options,
    );
    expect(resolved.statusWord).toBe('Resolved');
    expect(plain(resolved, 'status')).toBe(`[Resolved] as False positive by @U1, ${at(0).toISOString()}`);
    expect(plain(resolved, 'assignee')).toBe('Nobody');
    expect(plain(resolved, 'comment')).toBe('scanner');
    expect(resolved.summary).toBe('[MEDIUM] #42 Suspicious sign-in (Resolved)');
    // A comment shows only on a resolved alert.
    const open = alertCardModel(card({ resolutionComment: 'left over' }), options);
    expect(open.facts.map((fact) => fact.label)).toEqual([
      'Status',
      'Source',
      'Assignee',
      'First seen',
      'Last seen',
      'Occurrences',
    ]);
  });

  it("shows the source's policy with its link and the Vigil policy beside it, linking the console, never the API", () => {
    const model = alertCardModel(
      card({
        policyName: 'OAuth app governance',
        policyUrl: 'https://security.microsoft.com/policy/1',
        vigilPolicy: { id: 'p 1', name: 'Risky apps' },
      }),
      options,
    );
    expect(model.facts.filter((fact) => fact.link !== null).map((fact) => [fact.label, fact.link])).toEqual([
      ['Policy', { label: 'View policy', url: 'https://security.microsoft.com/policy/1' }],
      ['Vigil policy', { label: 'View policy', url: 'https://vigil.example/console/#/policies/p%201' }],
    ]);
    expect(model.openInVigil?.url).toBe('https://vigil.example/console/#/alerts/a1');
    expect(JSON.stringify(model)).not.toContain('/api/');
    // A link that is not http(s) is never offered; the name stays.
    const hostile = alertCardModel(card({ policyName: null, policyUrl: 'javascript:alert(1)' }), options);
    expect(hostile.facts.find((fact) => fact.key === 'policy')).toMatchObject({ link: null });
  });

  it("keeps the source's http(s) links, at most five", () => {
    const model = alertCardModel(
      card({
        links: [
          { title: '', url: 'javascript:alert(1)' },
          ...Array.from({ length: 9 }, (_, i) => ({
            title: i === 0 ? '' : `l${i}`,
            url: `https://x.example/${i}`,
          })),
        ],
      }),
      options,
    );
    expect(model.sourceLinks).toHaveLength(CARD_CAPS.sourceLinks);
    expect(model.sourceLinks[0]).toEqual({ label: 'https://x.example/0', url: 'https://x.example/0' });
  });

  it('groups entities by label, five a kind and six kinds, counting the rest', () => {
    const kinds = ['user', 'device', 'ip', 'file', 'process', 'url', 'mailbox'] as const;
    const model = alertCardModel(
      card({
        entities: [
          ...Array.from({ length: 7 }, (_, i) => anEntity({ kind: 'user', key: `u${i}`, displayName: '' })),
          anEntity({ kind: 'oauth_application', key: 'app-1', displayName: 'App One' }),
          anEntity({ kind: 'cloud_application', key: 'app-2', displayName: 'App Two' }),
          ...kinds.slice(1).map((kind) => anEntity({ kind, key: kind, displayName: kind })),
          anEntity({ kind: 'registry_key', key: 'HKLM', displayName: '' }),
        ],
      }),
      options,
    );
    expect(model.entities.map((line) => [line.label, line.names.length, line.hidden])).toEqual([
      ['Users', 5, 2],
      ['Apps', 2, 0],
      ['Devices', 1, 0],
      ['IPs', 1, 0],
      ['Files', 1, 0],
      ['Processes', 1, 0],
    ]);
    expect(model.entities[0]?.names[0]).toBe('u0');
    // URLs, Mailboxes and Other are not shown: counted.
    expect(model.hiddenEntityKinds).toBe(3);
  });
});

describe('alertCardModel: investigations and pending actions', () => {
  it('shows settled actions with why they failed, and pending ones with Approve and Reject, at most five', () => {
    const model = alertCardModel(
      card(
        {},
        {
          investigations: [
            investigation(1, [
              anAction(1),
              anAction(2, { status: 'failed', error: '  HTTP 403  ' }),
              anAction(3, { status: 'running' }),
              ...[4, 5, 6].map((i) => anAction(i)),
            ]),
            investigation(
              2,
              [7, 8, 9].map((i) => anAction(i)),
            ),
          ],
        },
      ),
      options,
    );
    const [first, second] = model.investigations;
    expect(first?.title).toBe('Investigation #1');
    expect(first?.statusWord).toBe('Pending approval');
    expect(first?.link?.url).toBe('https://vigil.example/console/#/investigations/inv-1');
    expect(first?.settled).toEqual([
      { kindWord: 'Isolate device', target: 'laptop-2', statusWord: 'failed', error: 'HTTP 403' },
      { kindWord: 'Isolate device', target: 'laptop-3', statusWord: 'running', error: null },
    ]);
    expect(first?.pending.map((action) => action.id)).toEqual(['act-1', 'act-4', 'act-5', 'act-6']);
    expect(first?.pending[0]).toMatchObject({
      reason: 'why 1',
      approvalsWord: 'approvals 0/1',
      approve: {
        id: CARD_ACTIONS.approve,
        word: 'Approve',
        emphasis: 'primary',
        target: { kind: 'action', actionId: 'act-1', alertId: 'a1' },
      },
      reject: { id: CARD_ACTIONS.reject, word: 'Reject', emphasis: 'danger' },
    });
    expect(second?.pending.map((action) => action.id)).toEqual(['act-7']);
    expect(model.morePending).toBe('+2 more waiting for approval in Vigil');
  });

  it('shows at most three investigations', () => {
    const model = alertCardModel(
      card({}, { investigations: [1, 2, 3, 4].map((i) => investigation(i, [], 'remediated')) }),
      options,
    );
    expect(model.investigations).toHaveLength(CARD_CAPS.investigations);
    expect(model.morePending).toBeNull();
  });
});
