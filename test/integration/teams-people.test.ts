import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBotConnector } from '../fakes/bot-connector.js';
import { startTestVigil, type TestVigil } from '../helpers/harness.js';
import { sayOnTeams } from '../helpers/teams-chat.js';

// Teams `role` and `token` run the same commands as Slack's: an activity in, Postgres rows, the
// reply out through the fake Bot Framework connector. A new token's secret is shown only in a
// personal chat.

const TENANT = '5e1b4f0a-1c2d-4e3f-8a9b-0c1d2e3f4a5b';
const ADMIN = 'ad000000-0000-4000-8000-0000000000a1';
const BOB = 'b0b00000-0000-4000-8000-0000000000b2';
const CHANNEL = '19:5c0c1b6e2a3d4f5e8a9b0c1d2e3f4a5b@thread.tacv2';

let teams: FakeBotConnector;
let vigil: TestVigil;

beforeAll(async () => {
  teams = await new FakeBotConnector().start();
  vigil = await startTestVigil({ env: { VIGIL_TEAMS_DEV: '1', VIGIL_ADMINS: `teams:${ADMIN}` } });
});
afterAll(async () => {
  await vigil?.close();
  await teams?.stop();
});

/** `text` written to Vigil by the Entra user `aad`, in their personal chat or a team's channel; Vigil's reply. */
const say = async (aad: string, text: string, where: 'personal' | 'channel' = 'personal'): Promise<string> =>
  String(
    (
      await sayOnTeams(vigil, teams, {
        aad,
        tenant: TENANT,
        text,
        where: where === 'personal' ? { kind: 'personal' } : { kind: 'channel', id: CHANNEL },
      })
    ).body.text,
  );

const personOf = async (aad: string) =>
  vigil.handle.db
    .selectFrom('person_identities')
    .innerJoin('persons', 'persons.id', 'person_identities.person_id')
    .select(['persons.id', 'persons.role'])
    .where('person_identities.key', '=', `teams:${TENANT}:${aad}`)
    .executeTakeFirstOrThrow();

const audit = (action: string) =>
  vigil.handle.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id').execute();

const tokensOf = async (aad: string) =>
  vigil.handle.db
    .selectFrom('api_tokens')
    .selectAll()
    .where('person_id', '=', (await personOf(aad)).id)
    .orderBy('created_at')
    .execute();

const me = (token: string) => vigil.api('GET', '/api/me', undefined, { authorization: `Bearer ${token}` });

describe('Teams role', () => {
  it('refuses a viewer in the command layer, audited, and grants nothing', async () => {
    await say(ADMIN, 'oncall');
    const before = (await audit('role.grant_refused')).length;
    const answer = await say(BOB, `role teams:${TENANT}:${BOB} admin`);
    expect(answer).toContain('Not changed');
    expect(answer).toContain('admin');
    expect((await audit('role.grant_refused')).slice(before)).toEqual([
      expect.objectContaining({
        actor_key: `teams:${BOB}`,
        details: expect.objectContaining({
          code: 'auth.forbidden',
          role: 'viewer',
          permission: 'admin.manage',
        }),
      }),
    ]);
    expect((await personOf(BOB)).role).toBeNull();
  });

  it('an admin grants a role to the person an identity names', async () => {
    await say(BOB, 'oncall');
    expect(await say(ADMIN, `role teams:${TENANT}:${BOB} responder`)).toContain(
      `teams:${TENANT}:${BOB} is now a responder.`,
    );
    const bob = await personOf(BOB);
    expect(bob.role).toBe('responder');
    expect((await audit('role.granted')).at(-1)).toMatchObject({
      actor_key: `teams:${ADMIN}`,
      details: { personId: bob.id, role: 'responder' },
    });
  });

  it('asks for an identity rather than a Slack mention', async () => {
    expect(await say(ADMIN, 'role <@U0BOB> approver')).toContain(
      'Name the person by one of their identities',
    );
    expect(await say(ADMIN, 'role bob approver')).toContain('Usage: `role');
  });
});

describe('Teams tokens', () => {
  it('creates none in a channel, and says to ask in a personal chat', async () => {
    await say(BOB, 'oncall');
    const before = await tokensOf(BOB);
    const answer = await say(BOB, 'token ci', 'channel');
    expect(answer).toContain('only in a personal chat');
    expect(answer).not.toContain('vgl_');
    expect(await tokensOf(BOB)).toEqual(before);
  });

  it('creates one in a personal chat, shown once, that acts as its person', async () => {
    const answer = await say(BOB, 'token ci pipeline');
    const secret = /vgl_[A-Za-z0-9_-]+/.exec(answer)?.[0];
    expect(secret).toBeDefined();
    const [token] = (await tokensOf(BOB)).slice(-1);
    expect(token).toMatchObject({ name: 'ci pipeline', revoked_at: null });
    expect(answer).toContain(`\`token revoke ${token?.id}\``);
    expect(answer).not.toContain('/vigil');
    const response = await me(secret as string);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ personId: (await personOf(BOB)).id });
  });

  it('lists the person’s own tokens and revokes one', async () => {
    const secret = /vgl_[A-Za-z0-9_-]+/.exec(await say(BOB, 'token to revoke'))?.[0] as string;
    const [token] = (await tokensOf(BOB)).slice(-1);
    const id = token?.id as string;
    const list = await say(BOB, 'token list');
    expect(list).toContain(`\`${id}\` to revoke`);
    expect(list).toContain('ci pipeline');
    expect(list).not.toContain('vgl_');
    expect(await say(ADMIN, 'token list')).toContain('You have no personal API tokens. `token` creates one.');

    expect(await say(ADMIN, `token revoke ${id}`)).toContain(`You have no live token ${id}`);
    expect((await tokensOf(BOB)).find((row) => row.id === id)?.revoked_at).toBeNull();

    expect(await say(BOB, `token revoke ${id}`)).toContain(`Token \`${id}\` revoked.`);
    expect((await tokensOf(BOB)).find((row) => row.id === id)?.revoked_at).not.toBeNull();
    expect((await audit('token.revoked')).at(-1)).toMatchObject({
      actor_key: `teams:${BOB}`,
      details: { tokenId: id },
    });
    expect((await me(secret)).status).toBe(401);
    expect(await say(BOB, 'token list')).toContain(`\`${id}\` to revoke (responder): revoked`);
  });
});
