import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commandText, conversationKind, conversationRoot, inboundActivity } from './activity.js';
import { describeSubscription, parseSubscription, subscriptionMatches } from './subscription.js';

const recorded = (name: string) =>
  inboundActivity.parse(
    JSON.parse(readFileSync(new URL(`../../../test/fixtures/teams/${name}`, import.meta.url), 'utf8')),
  );

describe('recorded Teams activities', () => {
  it('reads the command from a channel mention, without the bot mention', () => {
    const mention = recorded('message.channel-mention.recorded-vercel-chat.json');
    expect(commandText(mention)).toBe('Hey');
    expect(conversationKind(mention)).toBe('channel');
    expect(conversationRoot(mention.conversation.id)).toBe(
      '19:d441d38c655c47a085215b2726e76927@thread.tacv2',
    );
    const reply = recorded('message.channel-reply.teams-net-test.json');
    expect(commandText(reply)).toBe('reply to thread');
  });

  it('parses the recorded invoke and the personal conversation', () => {
    const invoke = recorded('invoke.adaptiveCard-action.recorded-teams-net-test.json');
    expect(invoke.name).toBe('adaptiveCard/action');
    expect(conversationKind(invoke)).toBe('personal');
    expect(invoke.from?.aadObjectId).toBe('c5e99701-2a32-49c1-a660-4629ceeb8c61');
  });

  it('parses the legacy Action.Submit message, which has no text', () => {
    const submit = recorded('message.action-submit-value.recorded-vercel-chat.json');
    expect(submit.text).toBeUndefined();
    expect(commandText(submit)).toBe('');
  });
});

describe('subscriptions', () => {
  it('parses severity thresholds and sources', () => {
    expect(parseSubscription([])).toEqual({ ok: true, value: { minSeverity: null, sources: null } });
    expect(parseSubscription(['severity>=high', 'source=alertmanager,graph'])).toEqual({
      ok: true,
      value: { minSeverity: 'high', sources: ['alertmanager', 'graph'] },
    });
    expect(parseSubscription(['severity>medium'])).toEqual({
      ok: true,
      value: { minSeverity: 'high', sources: null },
    });
    expect(parseSubscription(['severity>=urgent']).ok).toBe(false);
    expect(parseSubscription(['severity>critical']).ok).toBe(false);
    expect(parseSubscription(['everything']).ok).toBe(false);
  });

  it('matches alerts at or above the threshold from the listed sources', () => {
    const sub = { minSeverity: 'high' as const, sources: ['graph'] };
    expect(subscriptionMatches(sub, { severity: 'critical', source: 'graph' })).toBe(true);
    expect(subscriptionMatches(sub, { severity: 'high', source: 'graph' })).toBe(true);
    expect(subscriptionMatches(sub, { severity: 'medium', source: 'graph' })).toBe(false);
    expect(subscriptionMatches(sub, { severity: 'critical', source: 'alertmanager' })).toBe(false);
    expect(subscriptionMatches({ minSeverity: null, sources: null }, { severity: 'low', source: 'x' })).toBe(
      true,
    );
    expect(describeSubscription(sub)).toBe('alerts of severity high and above from source graph');
  });
});
