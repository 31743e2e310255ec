import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBotConnector } from '../fakes/bot-connector.js';
import { startTestVigil, type TestVigil } from '../helpers/harness.js';
import { personWithToken, type TokenPerson } from '../helpers/people.js';
import { sayOnTeams } from '../helpers/teams-chat.js';

// The command layer decides: Teams' `link` and `unlink` (admins), and the API's investigation
// rules, watchlist, schedules and escalation policies, whose refusals are audited by the command.

const TENANT = '5e1b4f0a-1c2d-4e3f-8a9b-0c1d2e3f4a5b';
const ADMIN = 'ad000000-0000-4000-8000-000000000001';
const BOB = 'b0b00000-0000-4000-8000-000000000002';
const OIDC_BOB = 'oidc:https://idp.example.com:bob';

let teams: FakeBotConnector;
let vigil: TestVigil;
let viewer: TokenPerson;

beforeAll(async () => {
  teams = await new FakeBotConnector().start();
  vigil = await startTestVigil({
    env: { VIGIL_TEAMS_DEV: '1', VIGIL_ADMINS: `teams:${ADMIN}` },
    relayTimings: { pollMs: 100 },
  });
  viewer = await personWithToken(vigil, 'vera', 'viewer');
});
afterAll(async () => {
  await vigil?.close();
  await teams?.stop();
});

/** `text` written to Vigil in a personal chat by the Entra user `aad`; resolves with Vigil's reply. */
const say = async (aad: string, text: string): Promise<string> =>
  String((await sayOnTeams(vigil, teams, { aad, tenant: TENANT, text })).body.text);

const identity = (key: string) =>
  vigil.handle.db.selectFrom('person_identities').selectAll().where('key', '=', key).executeTakeFirst();

const refusals = (action: string) =>
  vigil.handle.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id').execute();

describe('Teams link and unlink', () => {
  it('an admin links an OIDC identity to a Teams user, then unlinks it', async () => {
    await say(BOB, 'oncall');
    const bob = await identity(`teams:${TENANT}:${BOB}`);
    expect(await say(ADMIN, `link teams:${TENANT}:${BOB} ${OIDC_BOB}`)).toContain('Linked');
    expect(await identity(OIDC_BOB)).toMatchObject({ person_id: bob?.person_id, revoked_at: null });
    const linked = (await refusals('person.identity_linked')).at(-1);
    expect(linked).toMatchObject({ actor_key: `teams:${ADMIN}`, details: { key: OIDC_BOB } });

    expect(await say(ADMIN, `unlink teams:${TENANT}:${BOB} ${OIDC_BOB}`)).toContain('Unlinked');
    expect((await identity(OIDC_BOB))?.revoked_at).not.toBeNull();
  });

  it('refuses a non-admin in the command layer, audited, and changes nothing', async () => {
    const before = (await refusals('person.link_refused')).length;
    const answer = await say(BOB, `link teams:${TENANT}:${BOB} slack:T0TEAM:U0BOB`);
    expect(answer).toContain('Not changed');
    expect(answer).toContain('admin');
    const refused = (await refusals('person.link_refused')).slice(before);
    expect(refused).toEqual([
      expect.objectContaining({
        actor_key: `teams:${BOB}`,
        details: expect.objectContaining({ code: 'auth.forbidden', identity: `teams:${TENANT}:${BOB}` }),
      }),
    ]);
    expect(await identity('slack:T0TEAM:U0BOB')).toBeUndefined();
  });

  it('says how to write it when the person is not named by an identity', async () => {
    expect(await say(ADMIN, 'link bob slack:T0TEAM:U0BOB')).toContain('Usage');
    expect(await say(ADMIN, `link teams:${TENANT}:nobody slack:T0TEAM:U0BOB`)).toContain('knows nobody');
  });
});

/** A viewer's call is refused by the route family's command: 403, an audit row of that command. */
async function expectRefused(method: string, path: string, body: unknown, action: string) {
  const before = (await refusals(action)).length;
  const response = await vigil.api(method, path, body, viewer.as);
  expect(response.status).toBe(403);
  expect(((await response.json()) as { error: { code: string } }).error.code).toBe('auth.forbidden');
  const after = (await refusals(action)).slice(before);
  expect(after).toEqual([
    expect.objectContaining({
      person_id: viewer.personId,
      details: expect.objectContaining({ permission: 'admin.manage', role: 'viewer' }),
    }),
  ]);
  // Not the API's own permission table any more.
  expect((await refusals('api.refused')).filter((row) => row.person_id === viewer.personId)).toEqual([]);
}

const SCHEDULE = {
  name: 'night',
  timeZone: 'UTC',
  rotations: [
    {
      name: 'primary',
      handoff: 'weekly',
      handoffTime: '00:00',
      startDate: '2020-01-06',
      people: [{ name: 'Ann', slack: 'U0ANN' }],
    },
  ],
};

describe('configuration through commands', () => {
  it('investigation rules: a viewer is refused by the command; an admin adds and removes', async () => {
    const rule = { name: 'All alerts', source: 'idp' };
    await expectRefused('POST', '/api/investigation-rules', rule, 'investigation_rule.refused');
    const added = await vigil.api('POST', '/api/investigation-rules', rule);
    expect(added.status).toBe(201);
    const { id } = (await added.json()) as { id: string };
    await expectRefused('DELETE', `/api/investigation-rules/${id}`, undefined, 'investigation_rule.refused');
    expect((await vigil.api('DELETE', `/api/investigation-rules/${id}`)).status).toBe(204);
    expect((await vigil.api('DELETE', `/api/investigation-rules/${id}`)).status).toBe(404);
  });

  it('watchlist: a viewer is refused by the command; an admin adds and removes', async () => {
    const entry = { kind: 'user', value: 'mallory@contoso.com', reason: 'leaked password' };
    await expectRefused('POST', '/api/watchlist', entry, 'watchlist.refused');
    const added = await vigil.api('POST', '/api/watchlist', entry);
    expect(added.status).toBe(201);
    const { id } = (await added.json()) as { id: string };
    await expectRefused('DELETE', `/api/watchlist/${id}`, undefined, 'watchlist.refused');
    expect((await vigil.api('DELETE', `/api/watchlist/${id}`)).status).toBe(204);
  });

  it('schedules and escalation policies: a viewer is refused by the command; an admin creates, replaces, deletes', async () => {
    await expectRefused('POST', '/api/schedules', SCHEDULE, 'schedule.refused');
    expect((await vigil.api('POST', '/api/schedules', SCHEDULE)).status).toBe(201);
    expect((await vigil.api('POST', '/api/schedules', SCHEDULE)).status).toBe(409);
    await expectRefused('PUT', '/api/schedules/night', SCHEDULE, 'schedule.refused');
    expect((await vigil.api('PUT', '/api/schedules/night', SCHEDULE)).status).toBe(200);
    const override = {
      person: { name: 'Bo', slack: 'U0BO' },
      startsAt: '2030-01-01T00:00:00Z',
      endsAt: '2030-01-02T00:00:00Z',
    };
    await expectRefused('POST', '/api/schedules/night/overrides', override, 'schedule.refused');
    expect((await vigil.api('POST', '/api/schedules/night/overrides', override)).status).toBe(201);
    const policy = {
      name: 'nightly',
      repeat: 0,
      levels: [{ targets: [{ type: 'schedule', schedule: 'night' }], waitMinutes: 5 }],
    };
    await expectRefused('POST', '/api/escalation-policies', policy, 'escalation_policy.refused');
    expect((await vigil.api('POST', '/api/escalation-policies', policy)).status).toBe(201);
    await expectRefused('DELETE', '/api/escalation-policies/nightly', undefined, 'escalation_policy.refused');
    expect((await vigil.api('DELETE', '/api/escalation-policies/nightly')).status).toBe(204);
    await expectRefused('DELETE', '/api/schedules/night', undefined, 'schedule.refused');
    expect((await vigil.api('DELETE', '/api/schedules/night')).status).toBe(204);
    expect((await vigil.api('DELETE', '/api/schedules/night')).status).toBe(404);
  });
});
