import { readFileSync } from 'node:fs';
import * as AC from 'adaptivecards';
import { describe, expect, it } from 'vitest';
import { anAlert, anEntity, at, aUser } from '../../../test/builders/alert.js';
import {
  ALERT_STATUSES,
  type CardAction,
  type CardAlert,
  type CardInvestigation,
  SEVERITIES,
} from '../../domain/index.js';
import { CARD_ACTIONS } from '../card-actions.js';
import { CARD_CAPS } from '../card-model/index.js';
import { neutralise } from './card-text.js';
import { renderAlertCard, renderMessageCard } from './render.js';

const options = { publicUrl: 'https://vigil.example' };
const card = ({
  investigations,
  ...overrides
}: Parameters<typeof anAlert>[0] & Pick<CardAlert, 'investigations'> = {}): CardAlert => ({
  ...anAlert(overrides),
  number: '42',
  ...(investigations === undefined ? {} : { investigations }),
});

/** Parse + validate with the official Adaptive Cards library (1.5); every event is a problem. */
function cardProblems(json: unknown): string[] {
  const parsed = new AC.AdaptiveCard();
  const context = new AC.SerializationContext(AC.Versions.v1_5);
  parsed.parse(json as object, context);
  const problems: string[] = [];
  for (let i = 0; i < context.eventCount; i++) problems.push(`parse: ${context.getEventAt(i).message}`);
  for (const event of parsed.validateProperties().validationEvents)
    problems.push(`validate: ${event.message}`);
  return problems;
}

/** Every string Teams parses as markdown: TextBlock text and Fact values/titles. */
function markdownStrings(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(markdownStrings);
  if (typeof value !== 'object' || value === null) return [];
  const record = value as Record<string, unknown>;
  const own: string[] = [];
  if (record.type === 'TextBlock' && typeof record.text === 'string') own.push(record.text);
  if (typeof record.title === 'string' && typeof record.value === 'string')
    own.push(record.title, record.value);
  return [...own, ...Object.values(record).flatMap(markdownStrings)];
}

function actionsOf(value: unknown): Record<string, any>[] {
  if (Array.isArray(value)) return value.flatMap(actionsOf);
  if (typeof value !== 'object' || value === null) return [];
  const record = value as Record<string, any>;
  const own = typeof record.type === 'string' && record.type.startsWith('Action.') ? [record] : [];
  return [...own, ...Object.values(record).flatMap(actionsOf)];
}

const injection = JSON.parse(
  readFileSync(
    new URL(
      '../../../test/fixtures/malformed/alertmanager.markup-and-mention-injection.HANDMADE.json',
      import.meta.url,
    ),
    'utf8',
  ),
) as { alerts: { annotations: { title: string; description: string }; generatorURL: string }[] };
const hostile = injection.alerts[0]!;

describe('renderAlertCard', () => {
  it('is a valid Adaptive Card 1.5 for every status and severity', () => {
    for (const status of ALERT_STATUSES) {
      for (const severity of SEVERITIES) {
        const json = renderAlertCard(
          card({
            status,
            severity,
            classification: status === 'resolved' ? 'true_positive' : null,
            resolutionComment: status === 'resolved' ? 'contained' : null,
            statusChangedBy: aUser({ platform: 'teams', id: 'aad-1', name: 'Adele' }),
            statusChangedAt: at(60_000),
            assignee: aUser({ platform: 'teams', id: 'aad-2', name: 'Bob' }),
            policyName: 'Impossible travel',
            policyUrl: 'https://security.microsoft.com/policy/1',
          }),
          options,
        );
        expect(cardProblems(json), `${status}/${severity}`).toEqual([]);
        expect(json.version).toBe('1.5');
      }
    }
  });

  it('shows severity, title, source, status with who and when, policy, first/last seen, count, assignee and links', () => {
    const json = renderAlertCard(
      card({
        severity: 'high',
        status: 'resolved',
        classification: 'false_positive',
        resolutionComment: 'Known VPN egress',
        statusChangedBy: aUser({ platform: 'teams', id: 'aad-1', name: 'Adele Vance' }),
        statusChangedAt: new Date('2026-11-23T10:30:00Z'),
        occurrenceCount: 7,
        policyName: 'Impossible travel',
        policyUrl: 'https://security.microsoft.com/policy/1',
        firstSeenAt: new Date('2026-11-23T09:00:00Z'),
        lastSeenAt: new Date('2026-11-23T10:00:00Z'),
      }),
      options,
    );
    const text = JSON.stringify(json);
    for (const expected of [
      'HIGH · Alert #42',
      'Suspicious sign-in',
      'Resolved as False positive by Adele Vance, 2026-11-23 10:30 UTC',
      'Known VPN egress',
      'Impossible travel',
      '2026-11-23 09:00 UTC',
      '2026-11-23 10:00 UTC',
      '"value":"7"',
      'Alice Example',
      'Nobody',
    ]) {
      expect(text).toContain(expected);
    }
    const links = actionsOf(json).filter((a) => a.type === 'Action.OpenUrl');
    expect(links).toEqual([
      { type: 'Action.OpenUrl', title: 'View policy', url: 'https://security.microsoft.com/policy/1' },
      {
        type: 'Action.OpenUrl',
        title: 'Open in Vigil',
        url: expect.stringMatching(/^https:\/\/vigil\.example\/console\/#\/alerts\//),
      },
    ]);
  });

  it("shows the source's policy and, beside it, the Vigil policy that acted; every Vigil link opens the console", () => {
    const json = renderAlertCard(
      card({
        policyName: 'Impossible travel',
        policyUrl: 'https://security.microsoft.com/policy/1',
        vigilPolicy: { id: '7d9a1f52-4a8e-4d53-9d38-0d2f4f1f7e11', name: 'Identity page' },
        investigations: [anInvestigation()],
      }),
      options,
    );
    expect(cardProblems(json)).toEqual([]);
    const text = JSON.stringify(json);
    expect(text).toContain('"title":"Policy","value":"Impossible travel"');
    expect(text).toContain(
      '{"type":"TextRun","text":"Vigil policy: ","weight":"Bolder"},{"type":"TextRun","text":"Identity page"',
    );
    const links = actionsOf(json).filter((a) => a.type === 'Action.OpenUrl');
    expect(links.map((a) => [a.title, a.url])).toEqual([
      ['View policy', 'https://vigil.example/console/#/policies/7d9a1f52-4a8e-4d53-9d38-0d2f4f1f7e11'],
      ['Open investigation', `https://vigil.example/console/#/investigations/${anInvestigation().id}`],
      ['View policy', 'https://security.microsoft.com/policy/1'],
      ['Open in Vigil', expect.stringMatching(/^https:\/\/vigil\.example\/console\/#\/alerts\//)],
    ]);
    expect(text).toContain(`https://vigil.example/console/#/investigations/${anInvestigation().id}`);
    expect(text).not.toContain('/api/');
  });

  it('offers the actions that fit the status, each carrying the alert and the version shown', () => {
    const open = card({ status: 'new', version: 3 });
    const executes = actionsOf(renderAlertCard(open, options)).filter((a) => a.type === 'Action.Execute');
    expect(executes.map((a) => a.verb)).toEqual([
      CARD_ACTIONS.investigate,
      CARD_ACTIONS.startProgress,
      CARD_ACTIONS.resolve,
      CARD_ACTIONS.assignToMe,
    ]);
    for (const action of executes) expect(action.data).toEqual({ alertId: open.id, version: 3 });
    const resolveForm = actionsOf(renderAlertCard(open, options)).find((a) => a.type === 'Action.ShowCard');
    const choice = resolveForm?.card.body.find((e: { type: string }) => e.type === 'Input.ChoiceSet');
    expect(choice.id).toBe('classification');
    expect(choice.isRequired).toBe(true);
    expect(choice.choices.map((c: { value: string }) => c.value)).toEqual([
      'true_positive',
      'false_positive',
      'informational_expected_activity',
    ]);

    const inProgress = actionsOf(renderAlertCard(card({ status: 'in_progress' }), options)).filter(
      (a) => a.type === 'Action.Execute',
    );
    expect(inProgress.map((a) => a.verb)).toEqual([
      CARD_ACTIONS.investigate,
      CARD_ACTIONS.resolve,
      CARD_ACTIONS.assignToMe,
    ]);
    const resolved = actionsOf(
      renderAlertCard(card({ status: 'resolved', classification: 'true_positive' }), options),
    );
    expect(resolved.filter((a) => a.type === 'Action.Execute').map((a) => a.verb)).toEqual([
      CARD_ACTIONS.reopen,
    ]);
  });

  it('neutralises markdown links and <at> mentions, and drops non-http URLs, from the injection fixture', () => {
    const json = renderAlertCard(
      card({
        title: hostile.annotations.title,
        description: hostile.annotations.description,
        source: '[click](https://evil.example)',
        policyName: '[Policy](javascript:alert(1)) <at>Everyone</at>',
        policyUrl: hostile.generatorURL,
        assignee: aUser({ platform: 'teams', id: 'x', name: '<at>Chat SDK Demo</at>' }),
        entities: [anEntity({ displayName: '[x](https://evil.example) <at>y</at>' })],
      }),
      options,
    );
    expect(cardProblems(json)).toEqual([]);
    for (const text of markdownStrings(json)) {
      expect(text).not.toMatch(/\]\s*\(/);
      expect(text).not.toMatch(/<\/?at\b/i);
    }
    const urls = actionsOf(json).flatMap((a) => (typeof a.url === 'string' ? [a.url] : []));
    expect(urls.every((url) => url.startsWith('https://'))).toBe(true);
    expect(actionsOf(json).some((a) => a.title === 'View policy')).toBe(false);
    // Free text goes into TextRuns, which Teams never parses as markdown: shown exactly as sent.
    expect(JSON.stringify(json)).toContain(JSON.stringify(hostile.annotations.title).slice(1, -1));
  });

  it('caps long text and many entities, keeping the card far below the Teams message limit', () => {
    const json = renderAlertCard(
      card({
        title: 'T'.repeat(10_000),
        description: 'D'.repeat(100_000),
        entities: Array.from({ length: 500 }, (_, i) =>
          anEntity({ key: `u${i}`, displayName: 'E'.repeat(1_000) }),
        ),
      }),
      options,
    );
    expect(cardProblems(json)).toEqual([]);
    const text = JSON.stringify(json);
    expect(text.length).toBeLessThan(20_000);
    expect(text).toContain(`and ${500 - CARD_CAPS.entitiesPerKind} more`);
  });

  it('shows a refusal notice above the alert', () => {
    const json = renderAlertCard(card(), options, {
      style: 'warning',
      text: 'Not changed: You need the responder role',
    });
    expect(cardProblems(json)).toEqual([]);
    expect(markdownStrings(json)[0]).toBe('Not changed: You need the responder role');
    expect(cardProblems(renderMessageCard('This alert no longer exists in Vigil.'))).toEqual([]);
  });
});

const anAction = (overrides: Partial<CardAction> = {}): CardAction => ({
  id: '11111111-1111-4111-8111-111111111111',
  number: '3',
  kind: 'disable_user',
  targetDisplay: 'adele@contoso.com',
  reason: 'Signed in from a watchlisted IP',
  status: 'pending_approval',
  approvalsNeeded: 2,
  approvals: 1,
  error: null,
  ...overrides,
});
const anInvestigation = (overrides: Partial<CardInvestigation> = {}): CardInvestigation => ({
  id: '22222222-2222-4222-8222-222222222222',
  number: '7',
  status: 'pending_approval',
  actions: [anAction()],
  ...overrides,
});

describe('renderAlertCard: investigations', () => {
  it('shows each investigation with its pending actions, Approve and Reject, and one reason box', () => {
    const alert = card({ status: 'in_progress', investigations: [anInvestigation()] });
    const json = renderAlertCard(alert, options);
    expect(cardProblems(json)).toEqual([]);
    const text = JSON.stringify(json);
    for (const expected of [
      'Investigation #7 · Pending approval',
      'Disable user: ',
      'adele@contoso.com',
      'Signed in from a watchlisted IP',
      'approvals 1/2',
      'Reason (needed to reject)',
    ]) {
      expect(text).toContain(expected);
    }
    const executes = actionsOf(json).filter((a) => a.type === 'Action.Execute');
    const approve = executes.find((a) => a.verb === CARD_ACTIONS.approve);
    const reject = executes.find((a) => a.verb === CARD_ACTIONS.reject);
    expect(approve?.data).toEqual({ actionId: anAction().id, alertId: alert.id });
    expect(approve?.associatedInputs).toBe('none');
    expect(reject?.data).toEqual({ actionId: anAction().id, alertId: alert.id });
    // An open investigation covers the alert: no second Investigate.
    expect(executes.some((a) => a.verb === CARD_ACTIONS.investigate)).toBe(false);
    // The top-level actions are unchanged.
    expect((json.actions as { title: string }[]).map((a) => a.title)).toEqual([
      'Resolve',
      'Assign to me',
      'Open in Vigil',
    ]);
  });

  it('shows running or failed actions without buttons, offers Investigate after a finished one, and caps actions', () => {
    const done = renderAlertCard(
      card({
        investigations: [
          anInvestigation({
            status: 'failed',
            actions: [anAction({ status: 'failed', error: 'no executor is configured for disable_user' })],
          }),
        ],
      }),
      options,
    );
    expect(cardProblems(done)).toEqual([]);
    expect(JSON.stringify(done)).toContain(' (failed)');
    // The failure says why.
    expect(JSON.stringify(done)).toContain(': no executor is configured for disable_user');
    expect(JSON.stringify(done)).not.toContain('Reason (needed to reject)');
    const verbs = actionsOf(done).map((a) => a.verb);
    expect(verbs).toContain(CARD_ACTIONS.investigate);
    expect(verbs).not.toContain(CARD_ACTIONS.approve);

    const many = renderAlertCard(
      card({
        title: '[x](https://evil.example)',
        investigations: [
          anInvestigation({
            actions: Array.from({ length: 9 }, (_, i) =>
              anAction({
                id: `11111111-1111-4111-8111-11111111111${i}`,
                targetDisplay: `<at>u${i}</at> ${'T'.repeat(1000)}`,
                reason: 'R'.repeat(5000),
              }),
            ),
          }),
        ],
      }),
      options,
    );
    expect(cardProblems(many)).toEqual([]);
    expect(actionsOf(many).filter((a) => a.verb === CARD_ACTIONS.approve)).toHaveLength(
      CARD_CAPS.pendingActions,
    );
    expect(JSON.stringify(many)).toContain(
      `+${9 - CARD_CAPS.pendingActions} more waiting for approval in Vigil`,
    );
    expect(JSON.stringify(many).length).toBeLessThan(20_000);
    for (const text of markdownStrings(many)) expect(text).not.toMatch(/<\/?at\b/i);

    const resolved = renderAlertCard(card({ status: 'resolved', classification: 'true_positive' }), options);
    expect(actionsOf(resolved).some((a) => a.verb === CARD_ACTIONS.investigate)).toBe(false);
  });
});

describe('neutralise', () => {
  it('breaks link syntax and mentions but keeps IOCs intact', () => {
    expect(neutralise('[a](b)')).not.toContain('](');
    expect(neutralise('<AT>x</at>')).not.toMatch(/<\/?at/i);
    expect(neutralise('app_pool_01 4f2a*9')).toBe('app_pool_01 4f2a*9');
  });
});
