import { randomBytes } from 'node:crypto';
import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/storage/db.js';
import { MIGRATIONS, migrate } from '../../src/storage/migrate.js';
import {
  dropSchema,
  eventually,
  startTestVigil,
  TEST_DATABASE_URL,
  type TestVigil,
} from '../helpers/harness.js';

// Letter case must not defeat the rules: Entra ID compares user names without case, and so does
// Vigil, for the watchlist, privileged users, investigations and the entities it stores.
let vigil: TestVigil;

beforeAll(async () => {
  vigil = await startTestVigil({ env: { VIGIL_PRIVILEGED_USERS: 'ops@contoso.com, CFO@contoso.com' } });
});
afterAll(async () => {
  await vigil?.close();
});

const json = async (response: Response) => (await response.json()) as any;

async function ingest(body: Record<string, unknown>): Promise<string> {
  const response = await vigil.ingest('generic', body);
  expect(response.status).toBe(202);
  return (await json(response)).alerts[0].id as string;
}

async function investigationOf(alertId: string): Promise<{ id: string; reason: string }> {
  return eventually(
    async () => (await json(await vigil.api('GET', `/api/alerts/${alertId}`))).investigations[0],
    20_000,
    'an investigation of the alert',
  );
}

const settled = (investigationId: string) =>
  eventually(
    async () => {
      const detail = await json(await vigil.api('GET', `/api/investigations/${investigationId}`));
      return ['pending_approval', 'no_threats_found', 'failed'].includes(detail.status) ? detail : undefined;
    },
    20_000,
    'the investigation to settle',
  );

describe('identity keys without case', () => {
  it('finds a watchlisted user named in another case, and the privileged user needs two approvers', async () => {
    const rule = await vigil.api('POST', '/api/investigation-rules', {
      name: 'Identity',
      source: 'idp',
      playbook: { name: 'Watchlist', steps: { default: [{ key: 'watchlist', provider: 'watchlist' }] } },
      automation: 'semi',
    });
    expect(rule.status).toBe(201);
    const watched = await vigil.api('POST', '/api/watchlist', {
      kind: 'user',
      value: 'cfo@contoso.com',
      reason: 'targeted by a phishing campaign',
    });
    expect(watched.status).toBe(201);

    const alertId = await ingest({
      title: 'Risky sign-in',
      source: 'idp',
      severity: 'high',
      id: 'case-1',
      entities: [{ kind: 'user', id: 'cfo@CONTOSO.com', name: 'CFO@Contoso.com (Chief Financial Officer)' }],
    });
    const started = await investigationOf(alertId);
    const detail = await settled(started.id);
    expect(detail.status).toBe('pending_approval');
    expect(detail.findings).toEqual([
      expect.objectContaining({ verdict: 'malicious', entity: { kind: 'user', key: 'cfo@contoso.com' } }),
    ]);
    // VIGIL_PRIVILEGED_USERS says CFO@contoso.com: the same account, so every action on it needs two.
    const onUser = detail.pendingActions.filter((action: any) => action.target.kind === 'user');
    expect(onUser.map((action: any) => [action.kind, action.approvalsNeeded]).sort()).toEqual([
      ['disable_user', 2],
      ['revoke_sessions', 2],
    ]);

    // Written in yet another case, the next alert about the CFO joins the open investigation.
    const next = await ingest({
      title: 'Mailbox rule created',
      source: 'idp',
      severity: 'high',
      id: 'case-2',
      entities: [{ kind: 'user', id: 'Cfo@Contoso.COM' }],
    });
    expect(await investigationOf(next)).toMatchObject({ id: started.id, reason: 'shared_entity' });
  });

  it('stores entities that differ only in case once, keeping the name as sent', async () => {
    const alertId = await ingest({
      title: 'Two spellings',
      source: 'edr',
      id: 'case-3',
      entities: [
        { kind: 'user', id: 'Adele.Vance@Contoso.com', name: 'Adele Vance' },
        { kind: 'user', id: 'adele.vance@contoso.com' },
        { kind: 'device', id: 'FIN-WS-17.contoso.local' },
        { kind: 'mailbox', id: 'Adele.Vance@Contoso.com' },
        { kind: 'file', id: 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855' },
      ],
    });
    const rows = await vigil.handle.db
      .selectFrom('alert_entities')
      .select(['kind', 'key', 'display_name'])
      .where('alert_id', '=', alertId)
      .orderBy('kind')
      .execute();
    expect(rows).toEqual([
      { kind: 'device', key: 'fin-ws-17.contoso.local', display_name: 'FIN-WS-17.contoso.local' },
      {
        kind: 'file',
        key: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        display_name: 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855',
      },
      { kind: 'mailbox', key: 'adele.vance@contoso.com', display_name: 'Adele.Vance@Contoso.com' },
      { kind: 'user', key: 'adele.vance@contoso.com', display_name: 'Adele Vance' },
    ]);
    const watch = await json(
      await vigil.api('POST', '/api/watchlist', {
        kind: 'device',
        value: 'FIN-WS-17.Contoso.Local',
        reason: 'x',
      }),
    );
    expect(watch.value).toBe('fin-ws-17.contoso.local');
  });
});

describe('the entity key migration', () => {
  it('merges rows that differ only in case, keeping the worst verdict and every reference valid', async () => {
    // A database at the migration before this one, holding rows as Vigil stored them then.
    const schema = `t_keys_${randomBytes(4).toString('hex')}`;
    const handle = openDb({ url: TEST_DATABASE_URL, schema, poolSize: 2 });
    try {
      await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(handle.db);
      const before = Object.fromEntries(
        Object.entries(MIGRATIONS).filter(([name]) => name < '2026-12-01T1300_entity_keys'),
      );
      const migrator = new Migrator({
        db: handle.db.withSchema(schema),
        provider: { getMigrations: async () => before },
        migrationTableSchema: schema,
      });
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const db = handle.db;
      const alert = await db
        .insertInto('alerts')
        .values({
          source: 'old',
          fingerprint: 'old:1',
          title: 'Before the change',
          description: '',
          severity: 'high',
          labels: '{}',
          links: '[]',
          first_seen_at: new Date(),
          last_seen_at: new Date(),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const investigation = await db
        .insertInto('investigations')
        .values({
          trigger_alert_id: alert.id,
          rule_id: null,
          playbook: '{}',
          automation: 'semi',
          started_by: JSON.stringify({ kind: 'system' }),
          started_by_key: 'system',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await db
        .insertInto('alert_entities')
        .values(
          ['CFO@Contoso.com', 'cfo@contoso.com', 'Cfo@CONTOSO.com'].map((key) => ({
            alert_id: alert.id,
            kind: 'user',
            key,
            display_name: key,
            roles: '[]',
            attributes: '{}',
          })),
        )
        .execute();
      await db
        .insertInto('investigation_entities')
        .values([
          {
            investigation_id: investigation.id,
            kind: 'user',
            key: 'CFO@Contoso.com',
            display_name: 'CFO',
            verdict: 'malicious',
            why: 'watchlist',
          },
          {
            investigation_id: investigation.id,
            kind: 'user',
            key: 'cfo@contoso.com',
            display_name: 'cfo',
            verdict: 'clean',
            why: 'history',
          },
          {
            investigation_id: investigation.id,
            kind: 'url',
            key: 'HTTPS://Evil.Example/Login',
            display_name: 'u',
          },
        ])
        .execute();
      await db
        .insertInto('findings')
        .values({
          investigation_id: investigation.id,
          step_key: 'watchlist',
          attempt_scope: 'r1',
          key: 'user:CFO@Contoso.com',
          title: 'on the watchlist',
          verdict: 'malicious',
          entity_kind: 'user',
          entity_key: 'CFO@Contoso.com',
        })
        .execute();
      const action = (target_key: string) => ({
        investigation_id: investigation.id,
        kind: 'revoke_sessions',
        target_kind: 'user',
        target_key,
        target_display: target_key,
        reason: 'old',
        status: 'rejected',
        requested_by: JSON.stringify({ kind: 'system' }),
        requested_by_key: 'system',
      });
      await db
        .insertInto('actions')
        .values([action('CFO@Contoso.com'), action('cFO@contoso.COM')])
        .execute();
      await db
        .insertInto('watchlist')
        .values([
          {
            kind: 'user',
            value: 'CEO@Contoso.com',
            verdict: 'suspicious',
            reason: 'first',
            created_by: 'api:x',
          },
          {
            kind: 'user',
            value: 'ceo@contoso.com',
            verdict: 'malicious',
            reason: 'second',
            created_by: 'api:x',
          },
        ])
        .execute();

      // Then Vigil starts with this change: the migration runs as every start-up runs it.
      expect((await migrate(handle)).error).toBeUndefined();

      expect(await db.selectFrom('alert_entities').select('key').execute()).toEqual([
        { key: 'cfo@contoso.com' },
      ]);
      expect(
        await db
          .selectFrom('investigation_entities')
          .select(['kind', 'key', 'verdict', 'why'])
          .orderBy('kind')
          .execute(),
      ).toEqual([
        { kind: 'url', key: 'https://evil.example/Login', verdict: 'unknown', why: '' },
        { kind: 'user', key: 'cfo@contoso.com', verdict: 'malicious', why: 'watchlist' },
      ]);
      expect(await db.selectFrom('findings').select('entity_key').execute()).toEqual([
        { entity_key: 'cfo@contoso.com' },
      ]);
      // Actions are history: the first takes the normal key, the other keeps its own rather than collide.
      const actions = await db.selectFrom('actions').select('target_key').orderBy('target_key').execute();
      expect(actions.map((a) => a.target_key)).toEqual(['cFO@contoso.COM', 'cfo@contoso.com']);
      expect(await db.selectFrom('watchlist').select(['value', 'verdict', 'reason']).execute()).toEqual([
        { value: 'ceo@contoso.com', verdict: 'malicious', reason: 'second' },
      ]);
    } finally {
      await handle.close();
      await dropSchema(schema);
    }
  });
});
