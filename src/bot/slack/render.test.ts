import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { anAlert, anEntity, at, aUser } from '../../../test/builders/alert.js';
import type { CardAction, CardAlert } from '../../domain/index.js';
import { CARD_ACTIONS, decodeCardActionValue } from '../card-actions.js';
import { LIMITS, renderAlertCard, renderChangeNote, renderResolveModal } from './render.js';

const options = { publicUrl: 'https://vigil.example' };
const card = (overrides: Parameters<typeof anAlert>[0] = {}): CardAlert => ({
  ...anAlert(overrides),
  number: '42',
});

/** Every mrkdwn string in a block tree. */
function mrkdwnTexts(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(mrkdwnTexts);
  if (typeof value !== 'object' || value === null) return [];
  const record = value as Record<string, unknown>;
  const own = record.type === 'mrkdwn' && typeof record.text === 'string' ? [record.text] : [];
  return [...own, ...Object.values(record).flatMap(mrkdwnTexts)];
}

const injection = JSON.parse(
  readFileSync(
    new URL(
      '../../../test/fixtures/malformed/alertmanager.markup-and-mention-injection.HANDMADE.json',
      import.meta.url,
    ),
    'utf8',
  ),
) as { alerts: { annotations: { title?: string; description: string } }[] };

describe('renderAlertCard', () => {
  it('shows severity, status, source, counts, policy link and the buttons of a New alert', () => {
    const alert = card({
      severity: 'high',
      policyName: 'OAuth app governance',
      policyUrl: 'https://security.microsoft.com/policy/1',
      occurrenceCount: 7,
      version: 3,
      id: '6f1c1a52-4a8e-4d53-9d38-0d2f4f1f7e11',
    });
    const message = renderAlertCard(alert, options);
    const json = JSON.stringify(message.blocks);
    expect(json).toContain('HIGH');
    expect(json).toContain('*Status*\\n*New*');
    expect(json).toContain('*Occurrences*\\n7');
    expect(json).toContain('<https://security.microsoft.com/policy/1|View policy>');
    const actions = message.blocks.find((block) => block.type === 'actions') as {
      elements: { action_id: string; value?: string; url?: string }[];
    };
    expect(actions.elements.map((element) => element.action_id)).toEqual([
      CARD_ACTIONS.startProgress,
      CARD_ACTIONS.resolve,
      CARD_ACTIONS.assignToMe,
      'alert.open',
    ]);
    expect(decodeCardActionValue(actions.elements[0]?.value)).toEqual({ alertId: alert.id, version: 3 });
    // Links people open go to the console, never to the API (a browser has no bearer token).
    expect(actions.elements[3]?.url).toBe(`https://vigil.example/console/#/alerts/${alert.id}`);
    expect(json).not.toContain('/api/');
  });

  it("shows the source's policy and, beside it, the Vigil policy that acted, each with its link", () => {
    const alert: CardAlert = {
      ...card({
        policyName: 'OAuth app governance',
        policyUrl: 'https://security.microsoft.com/policy/1',
        vigilPolicy: { id: '7d9a1f52-4a8e-4d53-9d38-0d2f4f1f7e11', name: 'Risky <apps>' },
      }),
      investigations: [
        { id: '11111111-1111-4111-8111-111111111111', number: '7', status: 'running', actions: [] },
      ],
    };
    const json = JSON.stringify(renderAlertCard(alert, options).blocks);
    expect(json).toContain(
      '*Policy*\\nOAuth app governance (<https://security.microsoft.com/policy/1|View policy>)',
    );
    expect(json).toContain(
      '*Vigil policy*\\nRisky &lt;apps&gt; (<https://vigil.example/console/#/policies/7d9a1f52-4a8e-4d53-9d38-0d2f4f1f7e11|View policy>)',
    );
    expect(json).toContain(
      '<https://vigil.example/console/#/investigations/11111111-1111-4111-8111-111111111111|Investigation #7>',
    );
    expect(json).not.toContain('/api/');
  });

  it('shows who resolved it, how it was classified, and only Reopen', () => {
    const message = renderAlertCard(
      card({
        status: 'resolved',
        classification: 'false_positive',
        resolutionComment: 'scanner',
        statusChangedBy: aUser({ id: 'U0ALICE' }),
        statusChangedAt: at(60_000),
      }),
      options,
    );
    const json = JSON.stringify(message.blocks);
    expect(json).toContain('*Resolved* as False positive by <@U0ALICE>');
    expect(json).toContain('Comment: scanner');
    const actions = message.blocks.find((block) => block.type === 'actions') as {
      elements: { action_id: string }[];
    };
    expect(actions.elements.map((element) => element.action_id)).toEqual([CARD_ACTIONS.reopen, 'alert.open']);
  });

  it('neutralises mention and link injection from the source', () => {
    const annotations = injection.alerts[0]?.annotations;
    expect(annotations).toBeDefined();
    const message = renderAlertCard(
      card({
        title: annotations?.title ?? '<!channel>',
        description: annotations?.description ?? '',
        source: '<!here>',
        entities: [anEntity({ displayName: '<@U0LAN0Z89>' })],
        policyName: '<https://evil|policy>',
        policyUrl: 'javascript:alert(1)',
        links: [{ title: 'x', url: 'javascript:alert(1)' }],
      }),
      options,
    );
    const texts = [...mrkdwnTexts(message.blocks), message.text];
    for (const text of texts) {
      // Only the control sequences Vigil writes itself (dates, its own links) may remain.
      const sequences = text.match(/<[^>]*>/g) ?? [];
      for (const sequence of sequences)
        expect(sequence).toMatch(/^<!date\^\d+\^|^<https:\/\/vigil\.example\//);
    }
    // `javascript:` may show as text; it must never become a link or a button URL.
    expect(JSON.stringify(message.blocks)).not.toMatch(/<javascript:|"url":"javascript:/);
    expect(JSON.stringify(message.blocks)).not.toContain('View policy');
    expect(JSON.stringify(message.blocks)).toContain('&lt;!channel&gt;');
  });

  it('stays within Block Kit limits for a huge alert', () => {
    const message = renderAlertCard(
      card({
        title: 'T'.repeat(5000),
        description: '<&>'.repeat(10_000),
        entities: Array.from({ length: 500 }, (_, i) =>
          anEntity({ kind: i % 2 ? 'ip' : 'user', key: `k${i}`, displayName: `<${'n'.repeat(300)}${i}>` }),
        ),
        links: Array.from({ length: 100 }, (_, i) => ({ title: `l${i}`, url: `https://x.example/${i}` })),
      }),
      options,
    );
    expect(message.blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
    for (const block of message.blocks) {
      const text = (block.text as { text?: string } | undefined)?.text;
      if (block.type === 'header') expect(text?.length).toBeLessThanOrEqual(LIMITS.headerText);
      else if (text !== undefined) expect(text.length).toBeLessThanOrEqual(LIMITS.sectionText);
      for (const field of (block.fields as { text: string }[] | undefined) ?? []) {
        expect(field.text.length).toBeLessThanOrEqual(LIMITS.fieldText);
      }
    }
    expect(JSON.stringify(message.blocks)).toContain('and 245 more');
  });
});

describe('investigations on the card', () => {
  const actionsBlocks = (blocks: readonly Record<string, unknown>[]) =>
    blocks.filter((block) => block.type === 'actions') as {
      block_id: string;
      elements: { action_id: string; value?: string; style?: string }[];
    }[];
  const pending = (i: number, overrides: Partial<CardAction> = {}): CardAction => ({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    number: String(i),
    kind: 'disable_user',
    targetDisplay: `user${i}@contoso.com`,
    reason: `Reason ${i}`,
    status: 'pending_approval',
    approvalsNeeded: 1,
    approvals: 0,
    error: null,
    ...overrides,
  });

  it('offers Investigate on an open alert without an open investigation', () => {
    const alert = card({ version: 2, id: '6f1c1a52-4a8e-4d53-9d38-0d2f4f1f7e11' });
    const blocks = renderAlertCard(alert, options).blocks;
    const investigate = actionsBlocks(blocks).find((block) => block.block_id.startsWith('investigate:'));
    expect(investigate?.elements.map((element) => element.action_id)).toEqual([CARD_ACTIONS.investigate]);
    expect(decodeCardActionValue(investigate?.elements[0]?.value)).toEqual({ alertId: alert.id, version: 2 });
    // The first actions block stays the alert's own buttons.
    expect(actionsBlocks(blocks)[0]?.block_id).toBe(`alert:${alert.id}`);
    const resolved = renderAlertCard(
      card({ status: 'resolved', classification: 'false_positive' }),
      options,
    ).blocks;
    expect(JSON.stringify(resolved)).not.toContain(CARD_ACTIONS.investigate);
  });

  it('shows each investigation and up to five pending actions with Approve and Reject', () => {
    const alert: CardAlert = {
      ...card(),
      investigations: [
        {
          id: '11111111-1111-4111-8111-111111111111',
          number: '7',
          status: 'pending_approval',
          actions: [
            pending(1, {
              targetDisplay: '<!channel>',
              reason: '<@U0EVIL> *bold*',
              approvalsNeeded: 2,
              approvals: 1,
            }),
            ...[2, 3, 4, 5, 6, 7].map((i) => pending(i)),
            pending(8, { kind: 'isolate_device', status: 'running', targetDisplay: 'laptop-1' }),
            pending(9, { kind: 'revoke_sessions', status: 'failed', error: 'remote said <!here> 403' }),
          ],
        },
      ],
    };
    const message = renderAlertCard(alert, options);
    const json = JSON.stringify(message.blocks);
    expect(json).toContain('Investigation #7');
    expect(json).toContain('*Pending approval*');
    expect(json).toContain('*Isolate device* `laptop-1` · running');
    // A failure says why, escaped like every other text from outside.
    expect(json).toContain('*Revoke sessions* `user9@contoso.com` · failed: remote said &lt;!here&gt; 403');
    expect(json).toContain('*Disable user* `&lt;!channel&gt;` · approvals 1/2');
    expect(json).toContain('&lt;@U0EVIL&gt;');
    expect(json).toContain('+2 more waiting for approval in Vigil');
    const approvals = actionsBlocks(message.blocks).filter((block) => block.block_id.startsWith('action:'));
    expect(approvals).toHaveLength(5);
    expect(approvals[0]?.elements.map((element) => [element.action_id, element.value])).toEqual([
      [CARD_ACTIONS.approve, pending(1).id],
      [CARD_ACTIONS.reject, pending(1).id],
    ]);
    // An investigation is open: Investigate would only find it again.
    expect(json).not.toContain(CARD_ACTIONS.investigate);
    for (const text of mrkdwnTexts(message.blocks)) {
      for (const sequence of text.match(/<[^>]*>/g) ?? [])
        expect(sequence).toMatch(/^<!date\^\d+\^|^<https:\/\/vigil\.example\//);
    }
    const ids = message.blocks.map((block) => block.block_id).filter((id) => id !== undefined);
    expect(new Set(ids).size).toBe(ids.length);
    expect(message.blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
  });
});

describe('renderResolveModal and notes', () => {
  it('offers the three classifications and carries the version it was opened on', () => {
    const modal = renderResolveModal(card(), { alertId: 'a', version: 4, channel: 'C1' }) as {
      private_metadata: string;
      blocks: unknown[];
    };
    expect(JSON.parse(modal.private_metadata)).toEqual({ alertId: 'a', version: 4, channel: 'C1' });
    expect(JSON.stringify(modal.blocks)).toContain('informational_expected_activity');
  });

  it('says who changed what in the thread, with the comment escaped', () => {
    const note = renderChangeNote({
      action: 'alert.status_changed',
      actor: aUser({ id: 'U0BOB' }),
      details: { from: 'new', to: 'resolved', classification: 'true_positive', comment: '<!channel> done' },
      at: at(0),
    });
    expect(note).toContain('<@U0BOB> changed the status to *Resolved* as True positive');
    expect(note).toContain('&lt;!channel&gt; done');
  });
});
