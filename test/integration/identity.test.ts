import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideAction } from '../../src/app/commands/decide-action.js';
import { CARD_ACTIONS } from '../../src/bot/card-actions.js';
import { systemClock } from '../../src/domain/index.js';
import { FakeExecutor } from '../fakes/executor.js';
import { FakeSlackApi } from '../fakes/slack-api.js';
import { eventually, startTestVigil, type TestVigil } from '../helpers/harness.js';
import { personOf, personWithToken, type TokenPerson } from '../helpers/people.js';
import { buttonClickBody, postSignedForm, slackTestEnv, slashCommandBody } from '../helpers/slack-signing.js';

// One person, one identity: who acts is decided by the credential alone, and the approval rules
// compare people, whatever surface or identity they use.

const EXECUTOR_SECRET = 'executor-secret-0123456789';
const CHANNEL = 'C0IDENT';
const ADMIN = 'U0ADMIN';
const ALICE = 'U0ALICE';
const DAVE = 'U0DAVE';
const VIEWER = 'U0VIEWER';
const DAVE_TEAMS = {
  tenant: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  oid: 'd4e5f6a7-0000-4000-8000-00000000dave',
};

let fake: FakeSlackApi;
let executor: FakeExecutor;
let vigil: TestVigil;
let carol: TokenPerson;
let bob: TokenPerson;

const json = async (response: Response) => (await response.json()) as any;
const sendSlack = (body: string) => postSignedForm(vigil.baseUrl, body);
const click = (actionId: string, value: string, user: string) =>
  sendSlack(buttonClickBody(fake.url, CHANNEL, actionId, value, user));
const command = async (text: string, user = ADMIN): Promise<string> => {
  const response = await sendSlack(slashCommandBody(fake.url, CHANNEL, text, user));
  expect(response.status).toBe(200);
  return ((await response.json()) as { text: string }).text;
};
const ephemeralTo = (user: string, from: number) =>
  eventually(
    async () =>
      fake
        .callsOf('chat.postEphemeral')
        .slice(from)
        .find((call) => call.args.user === user),
    20_000,
    `an ephemeral message to ${user}`,
  );
const actionRow = (id: string) =>
  vigil.handle.db.selectFrom('actions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const decisionsOf = (id: string) =>
  vigil.handle.db
    .selectFrom('action_decisions')
    .selectAll()
    .where('action_id', '=', id)
    .orderBy('id')
    .execute();
const auditOf = (alertId: string) =>
  vigil.handle.db.selectFrom('audit_log').selectAll().where('alert_id', '=', alertId).orderBy('id').execute();

beforeAll(async () => {
  fake = await new FakeSlackApi().start();
  executor = await new FakeExecutor(EXECUTOR_SECRET).start();
  vigil = await startTestVigil({
    env: {
      ...slackTestEnv(fake.url, CHANNEL, ADMIN),
      VIGIL_EXECUTOR_WEBHOOK_URL: `${executor.url}/webhook`,
      VIGIL_EXECUTOR_WEBHOOK_SECRET: EXECUTOR_SECRET,
    },
    relayTimings: { pollMs: 100 },
  });
  carol = await personWithToken(vigil, 'carol', 'approver');
  bob = await personWithToken(vigil, 'bob', 'approver');
  for (const user of [ALICE, DAVE]) expect(await command(`role <@${user}> approver`)).toContain('approver');
});
afterAll(async () => {
  await vigil?.close();
  await executor?.stop();
  await fake?.stop();
});

/**
 * A privileged user on the watchlist, an investigation carol starts with her token (or the
 * `requester` headers): two high-impact actions (revoke sessions, disable user), each needing
 * two people.
 */
async function privilegedActions(
  user: string,
  requester: Record<string, string> = carol.as,
): Promise<{ alertId: string; revoke: string; disable: string }> {
  const ingested = await vigil.ingest('generic', {
    title: `Admin account ${user} compromised`,
    source: 'ident',
    severity: 'high',
    id: user,
    entities: [{ kind: 'user', id: user, attributes: { privileged: true } }],
  });
  const alertId = (await json(ingested)).alerts[0].id as string;
  expect(
    (await vigil.api('POST', '/api/watchlist', { kind: 'user', value: user, reason: 'leaked' })).status,
  ).toBe(201);
  const started = await vigil.api('POST', `/api/alerts/${alertId}/investigate`, undefined, requester);
  expect(started.status).toBe(202);
  const { investigationId } = await json(started);
  const actions = await eventually(async () => {
    const listed = (await json(await vigil.api('GET', `/api/actions?investigationId=${investigationId}`)))
      .actions;
    return listed.length === 2 ? listed : undefined;
  });
  const byKind = Object.fromEntries(actions.map((a: any) => [a.kind, a]));
  expect(byKind.disable_user).toMatchObject({ approvalsNeeded: 2 });
  return { alertId, revoke: byKind.revoke_sessions.id, disable: byKind.disable_user.id };
}

describe('one API token is one person', () => {
  it('refuses a second approval from VIGIL_API_TOKEN under another X-Vigil-User name, audited', async () => {
    const { alertId, disable } = await privilegedActions('root1@contoso.com');
    const asBob = await vigil.api('POST', `/api/actions/${disable}/approve`, {}, { 'x-vigil-user': 'bob' });
    expect(asBob.status).toBe(202);
    expect((await json(asBob)).error.code).toBe('action.needs_second_approver');
    const asCarol = await vigil.api(
      'POST',
      `/api/actions/${disable}/approve`,
      {},
      { 'x-vigil-user': 'carol' },
    );
    expect(asCarol.status).toBe(409);
    expect((await json(asCarol)).error).toMatchObject({
      code: 'action.already_decided',
      message: 'You already decided on this action; a second person must.',
    });
    expect((await actionRow(disable)).status).toBe('pending_approval');
    const decisions = await decisionsOf(disable);
    expect(decisions).toHaveLength(1);
    expect(decisions[0]?.approver).toMatchObject({ platform: 'api', id: 'service' });
    const refused = (await auditOf(alertId)).filter((row) => row.action === 'action.decision_refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({
      actor_key: 'api:service',
      details: { code: 'action.already_decided' },
    });
    expect(executor.callsWithKey(`vigil-action-${disable}`)).toHaveLength(0);
  });

  it('refuses the requester on every surface and an action the API service requested to the service', async () => {
    const { revoke } = await privilegedActions('root2@contoso.com');
    expect((await actionRow(revoke)).requested_by_key).toBe(`person:${carol.personId}`);
    const own = await vigil.api('POST', `/api/actions/${revoke}/approve`, {}, carol.as);
    expect(own.status).toBe(403);
    expect((await json(own)).error.code).toBe('action.requester_cannot_approve');

    // Started by the API service: the service may administer, but cannot approve its own request.
    const { revoke: byServiceRequest } = await privilegedActions('root2b@contoso.com', {});
    const byService = await vigil.api(
      'POST',
      `/api/actions/${byServiceRequest}/approve`,
      {},
      { 'x-vigil-user': 'someone' },
    );
    expect((await json(byService)).error.code).toBe('action.requester_cannot_approve');
  });
});

describe('two people, two surfaces; one person, two identities', () => {
  it('Slack then a personal token: two people approve and the action runs once', async () => {
    const { revoke } = await privilegedActions('root3@contoso.com');
    const ephemerals = fake.callsOf('chat.postEphemeral').length;
    expect((await click(CARD_ACTIONS.approve, revoke, ALICE)).status).toBe(200);
    expect(String((await ephemeralTo(ALICE, ephemerals)).args.text)).toContain('needs 1 more approver');
    const second = await vigil.api('POST', `/api/actions/${revoke}/approve`, {}, bob.as);
    expect(second.status).toBe(200);
    await eventually(
      async () => executor.callsWithKey(`vigil-action-${revoke}`).length === 1,
      20_000,
      'the call',
    );
    const decisions = await decisionsOf(revoke);
    expect(decisions.map((d) => (d.approver as { platform: string }).platform)).toEqual(['slack', 'api']);
  });

  it('refuses one person a second approval through a linked Teams identity or their own token', async () => {
    const { alertId, disable } = await privilegedActions('root4@contoso.com');
    const daveKey = `teams:${DAVE_TEAMS.tenant}:${DAVE_TEAMS.oid}`;
    expect(await command(`link <@${DAVE}> ${daveKey}`)).toContain('one person');
    const ephemerals = fake.callsOf('chat.postEphemeral').length;
    await click(CARD_ACTIONS.approve, disable, DAVE);
    expect(String((await ephemeralTo(DAVE, ephemerals)).args.text)).toContain('needs 1 more approver');

    // The same person through Teams: the identity an adapter would resolve from the activity.
    const daveOnTeams = await personOf(vigil, {
      kind: 'user',
      platform: 'teams',
      id: DAVE_TEAMS.oid,
      tenant: DAVE_TEAMS.tenant,
    });
    const viaTeams = await decideAction({ handle: vigil.handle, clock: systemClock }, daveOnTeams, {
      actionId: disable,
      decision: 'approve',
    });
    expect(!viaTeams.ok && viaTeams.error.code).toBe('action.already_decided');

    // And through a token Dave made for himself in Slack.
    const tokenText = await command('token scripts', DAVE);
    const token = /```\s*(vgl_[\w-]+)\s*```/.exec(tokenText)?.[1];
    expect(token).toBeDefined();
    const viaToken = await vigil.api(
      'POST',
      `/api/actions/${disable}/approve`,
      {},
      { authorization: `Bearer ${token}` },
    );
    expect(viaToken.status).toBe(409);
    expect((await actionRow(disable)).status).toBe('pending_approval');
    expect((await auditOf(alertId)).filter((row) => row.action === 'action.decision_refused')).toHaveLength(
      2,
    );
    expect(executor.callsWithKey(`vigil-action-${disable}`)).toHaveLength(0);
  });
});

describe('linking an account Vigil already met', () => {
  it('merges it, so its earlier approvals count as the person; refuses when both decided on one action', async () => {
    const { revoke, disable } = await privilegedActions('root5@contoso.com');
    const FRANK = 'U0FRANK';
    expect(await command(`role <@${FRANK}> approver`)).toContain('approver');
    // Frank's Teams account acted before anyone linked it: Vigil met it as a person of its own.
    const frankOnTeams = await personOf(vigil, {
      kind: 'user',
      platform: 'teams',
      id: 'oid-frank',
      tenant: 't-5',
    });
    expect(
      (await vigil.api('POST', `/api/people/${frankOnTeams.personId}/role`, { role: 'approver' })).status,
    ).toBe(200);
    const deps = { handle: vigil.handle, clock: systemClock };
    const onTeams = await decideAction(
      deps,
      { ...frankOnTeams, role: 'approver' },
      { actionId: revoke, decision: 'approve' },
    );
    expect(!onTeams.ok && onTeams.error.code).toBe('action.needs_second_approver');

    expect(await command(`link <@${FRANK}> teams:t-5:oid-frank`)).toContain('one person');
    // The Teams approval is now Frank's: his Slack click on the same action is his second decision.
    const ephemerals = fake.callsOf('chat.postEphemeral').length;
    await click(CARD_ACTIONS.approve, revoke, FRANK);
    expect(String((await ephemeralTo(FRANK, ephemerals)).args.text)).toContain('already decided');

    // Two accounts that both decided on one action cannot be made one person afterwards.
    const greta = await personOf(vigil, { kind: 'user', platform: 'teams', id: 'oid-greta', tenant: 't-5' });
    await vigil.api('POST', `/api/people/${greta.personId}/role`, { role: 'approver' });
    await decideAction(deps, { ...greta, role: 'approver' }, { actionId: disable, decision: 'approve' });
    await click(CARD_ACTIONS.approve, disable, FRANK);
    await eventually(async () => (await decisionsOf(disable)).length === 2, 20_000, 'two decisions');
    const me = await personOf(vigil, { kind: 'user', platform: 'slack', id: FRANK, tenant: 'T0TEAM' });
    const refused = await vigil.api('POST', `/api/people/${me.personId}/links`, {
      key: 'teams:t-5:oid-greta',
    });
    expect(refused.status).toBe(409);
    expect((await json(refused)).error.code).toBe('person.link_conflict');
  });
});

describe('personal tokens', () => {
  it('is shown once, stored as a hash, acts with at most its creation role, records its use, and revokes', async () => {
    const created = await vigil.api('POST', '/api/tokens', { name: 'ci' }, carol.as);
    expect(created.status).toBe(201);
    const body = await json(created);
    expect(body).toMatchObject({ name: 'ci', roleCap: 'approver' });
    expect(body.token).toMatch(/^vgl_/);
    const stored = await vigil.handle.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('id', '=', body.id)
      .executeTakeFirstOrThrow();
    expect(stored.token_hash).not.toContain(body.token);
    const as = { authorization: `Bearer ${body.token}` };
    const me = await json(await vigil.api('GET', '/api/me', undefined, as));
    expect(me).toMatchObject({ personId: carol.personId, role: 'approver' });
    expect(
      (
        await vigil.handle.db
          .selectFrom('api_tokens')
          .select('last_used_at')
          .where('id', '=', body.id)
          .executeTakeFirstOrThrow()
      ).last_used_at,
    ).not.toBeNull();

    // Promoted to admin later, the token still acts as an approver at most.
    expect((await vigil.api('POST', `/api/people/${carol.personId}/role`, { role: 'admin' })).status).toBe(
      200,
    );
    expect((await json(await vigil.api('GET', '/api/me', undefined, as))).role).toBe('approver');
    expect((await vigil.api('POST', '/api/investigation-rules', { name: 'x' }, as)).status).toBe(403);
    expect((await vigil.api('POST', `/api/people/${carol.personId}/role`, { role: 'approver' })).status).toBe(
      200,
    );

    // A token made with this one dies with it; the API service mints none.
    const child = await json(await vigil.api('POST', '/api/tokens', { name: 'child' }, as));
    const childAs = { authorization: `Bearer ${child.token}` };
    expect((await vigil.api('GET', '/api/me', undefined, childAs)).status).toBe(200);
    const byService = await vigil.api('POST', '/api/tokens', { name: 'service' });
    expect(byService.status).toBe(403);
    expect((await json(byService)).error.code).toBe('token.service_refused');

    expect((await vigil.api('DELETE', `/api/tokens/${body.id}`, undefined, as)).status).toBe(204);
    expect((await vigil.api('GET', '/api/me', undefined, childAs)).status).toBe(401);
    const after = await vigil.api('GET', '/api/alerts', undefined, as);
    expect(after.status).toBe(401);
    expect((await vigil.api('POST', '/api/tokens', { name: '' }, carol.as)).status).toBe(400);
  });
});

describe('a viewer is refused by the command layer', () => {
  it('through the API: 403 naming the role, audited on the alert', async () => {
    const viewer = await personWithToken(vigil, 'victor', 'viewer');
    const ingested = await vigil.ingest('generic', { title: 'Viewer try', source: 'ident', id: 'v-1' });
    const alertId = (await json(ingested)).alerts[0].id as string;
    const refused = await vigil.api(
      'POST',
      `/api/alerts/${alertId}/status`,
      { status: 'in_progress' },
      viewer.as,
    );
    expect(refused.status).toBe(403);
    expect((await json(refused)).error).toMatchObject({
      code: 'auth.forbidden',
      message: 'You need the responder role to do that; you are a viewer. Ask a Vigil admin.',
    });
    const audit = await auditOf(alertId);
    expect(audit.at(-1)).toMatchObject({
      action: 'alert.change_refused',
      person_id: viewer.personId,
      details: { permission: 'alert.change_status', role: 'viewer' },
    });
    expect(
      (await vigil.api('POST', '/api/watchlist', { kind: 'ip', value: '1.2.3.4', reason: 'x' }, viewer.as))
        .status,
    ).toBe(403);
  });
});

describe('offboarding', () => {
  it('disabling a person stops their Slack identity, linked identities and tokens at once', async () => {
    const eve = 'U0EVE';
    expect(await command(`role <@${eve}> approver`)).toContain('approver');
    const tokenText = await command('token laptop', eve);
    const token = /```\s*(vgl_[\w-]+)\s*```/.exec(tokenText)?.[1] as string;
    const as = { authorization: `Bearer ${token}` };
    const me = await json(await vigil.api('GET', '/api/me', undefined, as));
    expect(
      (await vigil.api('POST', `/api/people/${me.personId}/links`, { key: 'teams:t-1:eve-oid' })).status,
    ).toBe(201);

    const disabled = await vigil.api('POST', `/api/people/${me.personId}/disable`);
    expect(disabled.status).toBe(200);
    expect((await vigil.api('GET', '/api/alerts', undefined, as)).status).toBe(401);
    expect(await command('alerts', eve)).toContain('disabled');
    const teams = await personOf(vigil, {
      kind: 'user',
      platform: 'teams',
      id: 'eve-oid',
      tenant: 't-1',
    }).catch((error: Error) => error.message);
    expect(teams).toContain('disabled');
    const person = await json(await vigil.api('GET', `/api/people/${me.personId}`));
    expect(person.disabledAt).not.toBeNull();
    expect(
      person.identities.every((identity: { revokedAt: string | null }) => identity.revokedAt !== null),
    ).toBe(true);
  });

  it('a viewer cannot disable, link or grant', async () => {
    const viewer = await personWithToken(vigil, 'vera', 'viewer');
    for (const [path, body] of [
      [`/api/people/${bob.personId}/disable`, undefined],
      [`/api/people/${bob.personId}/links`, { key: 'teams:t:x' }],
      [`/api/people/${viewer.personId}/role`, { role: 'admin' }],
    ] as const) {
      const refused = await vigil.api('POST', path, body, viewer.as);
      expect(refused.status).toBe(403);
    }
    expect(await command(`link <@${ALICE}> teams:t:y`, VIEWER)).toContain('admin role');
  });
});
