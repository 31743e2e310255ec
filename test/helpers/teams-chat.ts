import { expect } from 'vitest';
import type { ConnectorCall, FakeBotConnector } from '../fakes/bot-connector.js';
import { eventually, type TestVigil } from './harness.js';

/** The bot as Teams addresses it in the test files. */
export const TEAMS_BOT = { id: '28:57627569-c120-42a1-9e6f-7cb4b96cc8ef', name: 'Vigil' };

/** Where a message is written: the sender's personal chat with the bot, or a team's channel (mentioning it). */
export type TeamsPlace = { readonly kind: 'personal' } | { readonly kind: 'channel'; readonly id: string };

/**
 * `text` written to Vigil by the Entra user `aad` of `tenant`, as Teams sends it to /api/messages;
 * resolves with Vigil's reply there, as the fake connector received it.
 */
export async function sayOnTeams(
  vigil: TestVigil,
  connector: FakeBotConnector,
  message: {
    readonly aad: string;
    readonly tenant: string;
    readonly text: string;
    readonly where?: TeamsPlace;
  },
): Promise<ConnectorCall> {
  const { aad, tenant, text, where = { kind: 'personal' } } = message;
  const conversation =
    where.kind === 'personal'
      ? { id: `a:1personal-${aad}`, conversationType: 'personal', tenantId: tenant }
      : { id: where.id, conversationType: 'channel', isGroup: true, tenantId: tenant };
  const channelData =
    where.kind === 'personal'
      ? { tenant: { id: tenant } }
      : { tenant: { id: tenant }, team: { id: 'team-1' }, channel: { id: where.id } };
  const before = connector.posts(conversation.id).length;
  const response = await fetch(`${vigil.baseUrl}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'message',
      id: `m-${Math.random()}`,
      text: where.kind === 'personal' ? text : `<at>${TEAMS_BOT.name}</at> ${text}`,
      channelId: 'msteams',
      serviceUrl: connector.url,
      recipient: TEAMS_BOT,
      from: { id: `29:${aad}`, name: aad.slice(0, 4), aadObjectId: aad },
      conversation,
      channelData,
    }),
  });
  expect(response.status).toBe(200);
  return eventually(
    async () => connector.posts(conversation.id)[before],
    10_000,
    `Vigil's reply to "${text}"`,
  );
}
