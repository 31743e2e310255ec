import * as AC from 'adaptivecards';
import { describe, expect, it } from 'vitest';
import { anAlert, anEntity, at, aUser } from '../../../test/builders/alert.js';
import {
  ALERT_STATUSES,
  type AlertStatus,
  actorLabel,
  type CardAction,
  type CardAlert,
  type CardIncident,
  type CardInvestigation,
} from '../../domain/index.js';
import { CARD_ACTIONS, decodeCardActionValue } from '../card-actions.js';
import { renderAlertCard as renderSlack } from '../slack/render.js';
import { cardTime } from '../teams/card-text.js';
import { renderAlertCard as renderTeams } from '../teams/render.js';
import { alertCardModel, renderRuns, statusWord } from './index.js';

/**
 * Generated from the model: for every alert status × (pending actions or not) × (incident open,
 * resolved, none), the Slack blocks and the Teams card offer the same buttons (action ID and
 * word), say the same status word and show the same facts as the model says. The card has no
 * input for the viewer's role (channel cards are seen by everyone; the command layer decides who
 * may press), so no case varies by role.
 */
const options = { publicUrl: 'https://vigil.example' };
const ALERT_ID = '6f1c1a52-4a8e-4d53-9d38-0d2f4f1f7e11';
const INCIDENT_ID = '0b7e57b1-a0c8-4a1e-9d5d-5c1f4a7e7c11';
const adele = aUser({ platform: 'teams', id: 'aad-1', name: 'Adele <Vance>' });

const anAction = (i: number, overrides: Partial<CardAction> = {}): CardAction => ({
  id: `11111111-1111-4111-8111-${String(i).padStart(12, '0')}`,
  number: String(i),
  kind: 'disable_user',
  targetDisplay: `user${i}@contoso.com`,
  reason: `Reason ${i}`,
  status: 'pending_approval',
  approvalsNeeded: 2,
  approvals: 1,
  error: null,
  ...overrides,
});

const PENDING: readonly CardInvestigation[] = [
  {
    id: '22222222-2222-4222-8222-222222222222',
    number: '7',
    status: 'pending_approval',
    actions: [anAction(1), anAction(2), anAction(3, { status: 'failed', error: 'HTTP 403' })],
  },
];

const incidentOf = (status: AlertStatus): CardIncident => ({
  id: INCIDENT_ID,
  name: 'Multi-stage incident',
  alertCount: 3,
  alertStatuses: {
    new: status === 'resolved' ? 0 : 2,
    in_progress: 0,
    resolved: status === 'resolved' ? 3 : 1,
  },
  status,
});

function alertFor(status: AlertStatus, pending: boolean, incident: 'none' | 'open' | 'resolved'): CardAlert {
  return {
    ...anAlert({
      id: ALERT_ID,
      status,
      version: 4,
      severity: 'high',
      classification: status === 'resolved' ? 'false_positive' : null,
      resolutionComment: status === 'resolved' ? 'Known VPN egress' : null,
      statusChangedBy: status === 'new' ? null : adele,
      statusChangedAt: status === 'new' ? null : at(60_000),
      assignee: status === 'new' ? null : adele,
      policyName: 'Impossible travel',
      policyUrl: 'https://security.microsoft.com/policy/1',
      vigilPolicy: { id: '7d9a1f52-4a8e-4d53-9d38-0d2f4f1f7e11', name: 'Identity page' },
      entities: [anEntity(), anEntity({ kind: 'ip', key: '203.0.113.9', displayName: '' })],
      links: [{ title: 'Runbook', url: 'https://runbooks.example/1' }],
    }),
    number: '42',
    investigations: pending ? PENDING : [],
    incident: incident === 'none' ? null : incidentOf(incident === 'open' ? 'new' : 'resolved'),
  };
}

type Json = Record<string, any>;

function walk(value: unknown): Json[] {
  if (Array.isArray(value)) return value.flatMap(walk);
  if (typeof value !== 'object' || value === null) return [];
  const record = value as Json;
  return [record, ...Object.values(record).flatMap(walk)];
}

const minute = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;
const unescapeMrkdwn = (text: string) =>
  text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
/** A Slack field's value as plain text: dates as their fallback, links and stress dropped. */
const slackPlain = (mrkdwn: string) =>
  unescapeMrkdwn(
    mrkdwn
      .replace(/<!date\^\d+\^[^|]*\|([^>]+)>/g, (_, iso: string) => minute(iso))
      .replace(/ \(<[^|>]+\|[^>]+>\)$/, '')
      .replace(/\*/g, ''),
  );

interface Seen {
  readonly buttons: string[];
  readonly statusWord: string | undefined;
  readonly facts: string[];
}

function seenOnSlack(alert: CardAlert): Seen {
  const blocks = renderSlack(alert, options).blocks as Json[];
  const buttons = blocks
    .filter((block) => block.type === 'actions')
    .flatMap((block) => block.elements as Json[])
    .filter((element) => element.url === undefined)
    .map((element) => `${element.action_id} "${element.text.text}"`);
  const fields = (
    (blocks.find((block) => Array.isArray(block.fields))?.fields as Json[] | undefined) ?? []
  ).map((field) => {
    const [label = '', ...value] = String(field.text).split('\n');
    return [label.replace(/\*/g, ''), value.join('\n')] as const;
  });
  const comment = walk(blocks)
    .filter((item) => item.type === 'mrkdwn' && String(item.text).startsWith('Comment: '))
    .map((item) => ['Comment', String(item.text).slice('Comment: '.length)] as const);
  const status = fields.find(([label]) => label === 'Status')?.[1] ?? '';
  return {
    buttons: buttons.sort(),
    // Slack stresses the status word: `*Resolved* as ...`.
    statusWord: /^\*([^*]+)\*/.exec(status)?.[1],
    facts: [...fields, ...comment]
      .filter(([label]) => label !== 'Severity')
      .map(([label, value]) => `${label}: ${slackPlain(value)}`)
      .sort(),
  };
}

function seenOnTeams(alert: CardAlert): Seen {
  const card = renderTeams(alert, options);
  const items = walk(card);
  const buttons = items
    .filter((item) => item.type === 'Action.Execute')
    .map((item) => `${item.verb} "${item.title}"`);
  const factSet = items.find((item) => item.type === 'FactSet')?.facts as { title: string; value: string }[];
  const vigilPolicy = items
    .filter((item) => item.type === 'RichTextBlock' && item.inlines[0]?.text === 'Vigil policy: ')
    .map((item) => `Vigil policy: ${item.inlines[1].text}`);
  const status = factSet.find((fact) => fact.title === 'Status')?.value ?? '';
  return {
    buttons: buttons.sort(),
    statusWord: ALERT_STATUSES.map(statusWord).find((word) => status.startsWith(word)),
    facts: [...factSet.map((fact) => `${fact.title}: ${fact.value}`), ...vigilPolicy].sort(),
  };
}

function expectedFromModel(alert: CardAlert): Seen {
  const model = alertCardModel(alert, options);
  const buttons = [
    ...model.actions,
    ...model.investigations.flatMap((investigation) =>
      investigation.pending.flatMap((action) => [action.approve, action.reject]),
    ),
    ...(model.investigate === null ? [] : [model.investigate]),
  ];
  return {
    // On Teams, Resolve opens its form and the form's Resolve acts: the word is the same.
    buttons: buttons.map((button) => `${button.id} "${button.word}"`).sort(),
    statusWord: model.statusWord,
    facts: model.facts
      .map(
        (fact) =>
          `${fact.label}: ${renderRuns(fact.value, {
            word: (text) => text,
            text: (text) => text,
            person: actorLabel,
            time: cardTime,
          })}`,
      )
      .sort(),
  };
}

const cases = ALERT_STATUSES.flatMap((status) =>
  [true, false].flatMap((pending) =>
    (['none', 'open', 'resolved'] as const).map((incident) => ({ status, pending, incident })),
  ),
);

describe('Slack and Teams draw the same card model', () => {
  it.each(cases)(
    '$status alert, pending actions: $pending, incident: $incident',
    ({ status, pending, incident }) => {
      const alert = alertFor(status, pending, incident);
      const expected = expectedFromModel(alert);
      const slack = seenOnSlack(alert);
      const teams = seenOnTeams(alert);
      expect(slack.buttons).toEqual(expected.buttons);
      expect(teams.buttons).toEqual(expected.buttons);
      expect(slack.statusWord).toBe(expected.statusWord);
      expect(teams.statusWord).toBe(expected.statusWord);
      expect(slack.facts).toEqual(expected.facts);
      expect(teams.facts).toEqual(expected.facts);
    },
  );

  it.each(cases)(
    'buttons carry what cards already posted carry: $status, $pending, $incident',
    ({ status, pending, incident }) => {
      const alert = alertFor(status, pending, incident);
      const slack = walk(renderSlack(alert, options).blocks).filter((item) => item.type === 'button');
      const teams = walk(renderTeams(alert, options)).filter((item) => item.type === 'Action.Execute');
      for (const button of slack) {
        if (button.url !== undefined) continue;
        if (button.action_id === CARD_ACTIONS.resolveIncident) expect(button.value).toBe(INCIDENT_ID);
        else if (button.action_id === CARD_ACTIONS.approve || button.action_id === CARD_ACTIONS.reject)
          expect(button.value).toMatch(/^11111111-/);
        else expect(decodeCardActionValue(button.value)).toEqual({ alertId: ALERT_ID, version: 4 });
      }
      for (const action of teams) {
        if (action.verb === CARD_ACTIONS.approve || action.verb === CARD_ACTIONS.reject)
          expect(action.data).toEqual({ actionId: expect.stringMatching(/^11111111-/), alertId: ALERT_ID });
        else expect(action.data).toEqual({ alertId: ALERT_ID, version: 4 });
      }
      expect(cardProblems(renderTeams(alert, options))).toEqual([]);
    },
  );
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
