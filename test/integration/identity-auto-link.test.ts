import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBotConnector, type FakeTeamsMember } from '../fakes/bot-connector.js';
import { OIDC_CLIENT, startTestProvider, type TestProvider } from '../fakes/oidc-provider.js';
import { FakeSlackApi, type FakeSlackUser } from '../fakes/slack-api.js';
import { eventually, startTestVigil, type TestVigil } from '../helpers/harness.js';
import { CookieJar, signInThroughProvider } from '../helpers/oidc-sign-in.js';
import { postSignedForm, slackTestEnv, slashCommandBody } from '../helpers/slack-signing.js';

// Automatic linking by e-mail: a Slack member, a Teams member and an OIDC subject with the same
// verified address, all of this install's own workspace and tenant, are one person; a guest, a
// Slack Connect user, another tenant's user or an unverified address never link by it.

const CHANNEL = 'C0LINK';
const TENANT = '5e1b4f0a-1c2d-4e3f-8a9b-0c1d2e3f4a5b';
const OTHER_TENANT = '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a';
const BOT = { id: '28:57627569-c120-42a1-9e6f-7cb4b96cc8ef', name: 'Vigil' };

let slack: FakeSlackApi;
let teams: FakeBotConnector;
let provider: TestProvider;
let vigil: TestVigil;

beforeAll(async () => {
  slack = await new FakeSlackApi().start();
  teams = await new FakeBotConnector().start();
  provider = await startTestProvider([
    { login: 'olivia', name: 'Olivia', email: 'Olivia@Contoso.com', roles: [] },
    { login: 'ursula', name: 'Ursula', email: 'ursula@contoso.com', emailVerified: false, roles: [] },
  ]);
  // The console's sign-in comes back to the listener's own address: no VIGIL_PUBLIC_URL.
  const { VIGIL_PUBLIC_URL: _publicUrl, ...slackEnv } = slackTestEnv(slack.url, CHANNEL, 'U0ADMIN');
  vigil = await startTestVigil({
    env: {
      ...slackEnv,
      VIGIL_TEAMS_DEV: '1',
      MICROSOFT_APP_TENANT_ID: TENANT,
      VIGIL_OIDC_ISSUER: provider.issuer,
      VIGIL_OIDC_CLIENT_ID: OIDC_CLIENT.id,
      VIGIL_OIDC_CLIENT_SECRET: OIDC_CLIENT.secret,
    },
    relayTimings: { pollMs: 100 },
  });
  provider.register(`${vigil.baseUrl}/auth/callback`);
});
afterAll(async () => {
  await vigil?.close();
  await provider?.close();
  await teams?.stop();
  await slack?.stop();
});

/** A Slack member (in `users.info`) types `/vigil oncall`: Vigil meets them. */
async function slackMember(user: FakeSlackUser): Promise<string> {
  slack.users.set(user.id, user);
  const response = await postSignedForm(
    vigil.baseUrl,
    slashCommandBody(slack.url, CHANNEL, 'oncall', user.id),
  );
  expect(response.status).toBe(200);
  return `slack:T0TEAM:${user.id}`;
}

/** A Teams member writes `oncall` to Vigil in a personal chat, from `tenant`: Vigil meets them. */
async function teamsMember(
  member: Omit<FakeTeamsMember, 'id' | 'name'> & { name?: string },
): Promise<string> {
  const conversation = `a:1personal-${member.aadObjectId}`;
  const account = { id: `29:${member.aadObjectId}`, name: member.name ?? 'Teams user', ...member };
  teams.addMember(conversation, account);
  const response = await fetch(`${vigil.baseUrl}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'message',
      id: `m-${member.aadObjectId}`,
      text: 'oncall',
      channelId: 'msteams',
      serviceUrl: teams.url,
      recipient: BOT,
      from: { id: account.id, name: account.name, aadObjectId: member.aadObjectId },
      conversation: { id: conversation, conversationType: 'personal', tenantId: member.tenantId },
      channelData: { tenant: { id: member.tenantId } },
    }),
  });
  expect(response.status).toBe(200);
  return `teams:${member.tenantId}:${member.aadObjectId}`;
}

const identity = (key: string) =>
  vigil.handle.db
    .selectFrom('person_identities')
    .selectAll()
    .where('key', '=', key)
    .executeTakeFirstOrThrow();

/** The identity once its lookup job has run. */
const lookedUp = (key: string) =>
  eventually(
    async () => {
      const row = await identity(key);
      return row.email_looked_up_at === null ? undefined : row;
    },
    20_000,
    `the e-mail lookup of ${key}`,
  );

const autoLinks = () =>
  vigil.handle.db
    .selectFrom('audit_log')
    .selectAll()
    .where('action', '=', 'person.linked_automatically')
    .orderBy('id')
    .execute();

const linkAuditNaming = (key: string) =>
  eventually(
    async () =>
      (await autoLinks()).find((row) => [row.details.key, row.details.otherKey].includes(key)) ?? undefined,
    20_000,
    `an automatic link naming ${key}`,
  );

describe('automatic linking by verified e-mail', () => {
  it('links a Slack member and a Teams member of the home tenant with the same address, audited with both', async () => {
    const slackKey = await slackMember({ id: 'U0ALICE', email: 'alice@contoso.com' });
    await lookedUp(slackKey);
    const teamsKey = await teamsMember({
      aadObjectId: 'a11ce000-0000-4000-8000-000000000001',
      tenantId: TENANT,
      email: 'Alice@Contoso.com',
      userPrincipalName: 'Alice@contoso.com',
    });
    const audit = await linkAuditNaming(teamsKey);
    expect(audit.actor_key).toBe('system');
    expect(audit.details).toMatchObject({ key: teamsKey, otherKey: slackKey, email: 'alice@contoso.com' });
    const [slackRow, teamsRow] = [await identity(slackKey), await identity(teamsKey)];
    expect(teamsRow.person_id).toBe(slackRow.person_id);
    expect(slackRow).toMatchObject({
      email: 'alice@contoso.com',
      email_verified: true,
      auto_link_refusal: null,
    });
    expect(teamsRow).toMatchObject({
      email_verified: true,
      auto_link_refusal: null,
      upn: 'alice@contoso.com',
    });
    // Asked once each, after the answers: users.info for the Slack user, the member for Teams.
    expect(slack.callsOf('users.info').filter((call) => call.args.user === 'U0ALICE')).toHaveLength(1);
    expect(teams.memberLookups.filter((call) => call.userId === teamsRow.key.split(':')[2])).toHaveLength(1);
    // Typing again asks for no lookup again: one job per identity, ever.
    await slackMember({ id: 'U0ALICE', email: 'alice@contoso.com' });
    const jobs = await vigil.handle.db
      .selectFrom('outbox')
      .select('payload')
      .where('topic', '=', 'identity_lookup')
      .execute();
    expect(jobs.filter((job) => (job.payload as { key: string }).key === slackKey)).toHaveLength(1);
  });

  it('links an OIDC sign-in whose address is verified to the Slack member with it (case ignored)', async () => {
    const slackKey = await slackMember({ id: 'U0OLIVIA', email: 'olivia@contoso.com' });
    await lookedUp(slackKey);
    await signInThroughProvider(new CookieJar(), vigil.baseUrl, 'olivia');
    const oidcKey = `oidc:${provider.issuer}:olivia`;
    const audit = await linkAuditNaming(oidcKey);
    expect(audit.details).toMatchObject({ otherKey: slackKey });
    expect((await identity(oidcKey)).person_id).toBe((await identity(slackKey)).person_id);
  });

  /** Two identities with one address, one of which may not link by it: both looked up, not linked. */
  async function expectNoLink(first: () => Promise<string>, second: () => Promise<string>, refusal: string) {
    const a = await first();
    await lookedUp(a);
    const b = await second();
    await lookedUp(b);
    const rows = [await identity(a), await identity(b)];
    expect(rows[0]?.person_id).not.toBe(rows[1]?.person_id);
    expect(rows.map((row) => row.auto_link_refusal)).toContain(refusal);
    const links = await autoLinks();
    expect(
      links.filter((row) => [row.details.key, row.details.otherKey].some((k) => k === a || k === b)),
    ).toEqual([]);
  }

  it('never links a Slack guest', async () => {
    await expectNoLink(
      () =>
        teamsMember({
          aadObjectId: 'b0000000-0000-4000-8000-000000000002',
          tenantId: TENANT,
          email: 'gina@contoso.com',
        }),
      () => slackMember({ id: 'U0GINA', email: 'gina@contoso.com', isRestricted: true }),
      'guest',
    );
    await expectNoLink(
      () =>
        teamsMember({
          aadObjectId: 'b0000000-0000-4000-8000-000000000003',
          tenantId: TENANT,
          email: 'sam@contoso.com',
        }),
      () => slackMember({ id: 'U0SAM', email: 'sam@contoso.com', isUltraRestricted: true }),
      'guest',
    );
  });

  it('never links a Slack Connect user (another workspace, or a stranger)', async () => {
    await expectNoLink(
      () =>
        teamsMember({
          aadObjectId: 'c0000000-0000-4000-8000-000000000004',
          tenantId: TENANT,
          email: 'carl@contoso.com',
        }),
      () => slackMember({ id: 'U0CARL', email: 'carl@contoso.com', teamId: 'T0PARTNER' }),
      'external',
    );
    await expectNoLink(
      () =>
        teamsMember({
          aadObjectId: 'c0000000-0000-4000-8000-000000000005',
          tenantId: TENANT,
          email: 'stan@contoso.com',
        }),
      () => slackMember({ id: 'U0STAN', email: 'stan@contoso.com', isStranger: true }),
      'external',
    );
  });

  it('never links a Teams user of another tenant, nor a Teams guest', async () => {
    await expectNoLink(
      () => slackMember({ id: 'U0TOM', email: 'tom@contoso.com' }),
      () =>
        teamsMember({
          aadObjectId: 'd0000000-0000-4000-8000-000000000006',
          tenantId: OTHER_TENANT,
          email: 'tom@contoso.com',
        }),
      'other_tenant',
    );
    await expectNoLink(
      () => slackMember({ id: 'U0GWEN', email: 'gwen@contoso.com' }),
      () =>
        teamsMember({
          aadObjectId: 'd0000000-0000-4000-8000-000000000007',
          tenantId: TENANT,
          email: 'gwen@contoso.com',
          userRole: 'guest',
        }),
      'guest',
    );
  });

  it('never links an OIDC sign-in whose address is not verified', async () => {
    await expectNoLink(
      () => slackMember({ id: 'U0URSULA', email: 'ursula@contoso.com' }),
      async () => {
        await signInThroughProvider(new CookieJar(), vigil.baseUrl, 'ursula');
        return `oidc:${provider.issuer}:ursula`;
      },
      'unverified',
    );
  });
});
