import { randomBytes } from 'node:crypto';
import { Migrator, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { identify, identifyService } from '../../src/app/identity.js';
import { openDb } from '../../src/storage/db.js';
import { MIGRATIONS, migrate } from '../../src/storage/migrate.js';
import { dropSchema, TEST_DATABASE_URL } from '../helpers/harness.js';

describe('the persons migration', () => {
  it('gives everyone Vigil knew a person, and keeps what was recorded meaning the same', async () => {
    // A database at the migration before persons, holding rows as Vigil stored them then.
    const schema = `t_persons_${randomBytes(4).toString('hex')}`;
    const handle = openDb({ url: TEST_DATABASE_URL, schema, poolSize: 2 });
    try {
      await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(handle.db);
      const before = Object.fromEntries(
        Object.entries(MIGRATIONS).filter(([name]) => name < '2026-12-01T1700_persons'),
      );
      const migrator = new Migrator({
        db: handle.db.withSchema(schema),
        provider: { getMigrations: async () => before },
        migrationTableSchema: schema,
      });
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const db = handle.db;
      await sql`INSERT INTO people (user_key, platform, platform_id, display_name, role, granted_by) VALUES
        ('slack:U1', 'slack', 'U1', 'Ann', 'approver', 'slack:U0ADMIN'),
        ('teams:oid-1', 'teams', 'oid-1', 'Ben', NULL, NULL)`.execute(db);
      const alert = await sql<{ id: string }>`INSERT INTO alerts
        (source, fingerprint, title, description, severity, labels, links, first_seen_at, last_seen_at)
        VALUES ('old', 'old:1', 'Before persons', '', 'high', '{}', '[]', now(), now()) RETURNING id`
        .execute(db)
        .then((result) => result.rows[0]?.id as string);
      const investigation = await sql<{ id: string }>`INSERT INTO investigations
        (trigger_alert_id, playbook, automation, started_by, started_by_key)
        VALUES (${alert}, '{}', 'semi', '{"kind":"user","platform":"api","id":"carol"}', 'api:carol') RETURNING id`
        .execute(db)
        .then((result) => result.rows[0]?.id as string);
      const action = (target: string, status: string) =>
        sql<{ id: string }>`INSERT INTO actions
        (investigation_id, kind, target_kind, target_key, target_display, approvals_needed, reason, status,
         requested_by, requested_by_key)
        VALUES (${investigation}, 'disable_user', 'user', ${target}, ${target}, 2, 'old', ${status},
          '{"kind":"user","platform":"api","id":"carol"}', 'api:carol') RETURNING id`
          .execute(db)
          .then((result) => result.rows[0]?.id as string);
      const pending = await action('root@contoso.com', 'pending_approval');
      const approved = await action('ops@contoso.com', 'approved');
      const decide = (actionId: string, key: string) =>
        sql`INSERT INTO action_decisions (action_id, approver, approver_key, decision)
          VALUES (${actionId}, '{}', ${key}, 'approve')`.execute(db);
      await decide(pending, 'slack:U1');
      // The attack this change closes: one API token, two typed names, two approvals.
      await decide(approved, 'api:bob');
      await decide(approved, 'api:dave');
      await sql`INSERT INTO audit_log (alert_id, actor, actor_key, action, details) VALUES
        (${alert}, '{}', 'slack:U1', 'alert.status_changed', '{}'),
        (${alert}, '{}', 'api:bob', 'alert.status_changed', '{}'),
        (${alert}, '{}', 'source:old', 'alert.created', '{}')`.execute(db);

      // Then Vigil starts with this change: the migration runs as every start-up runs it.
      expect((await migrate(handle)).error).toBeUndefined();

      const service = await identifyService(db);
      if (!service.ok) throw new Error(service.error.message);
      // Ann keeps her role; her first click from workspace T1 completes her identity key.
      const ann = await identify(
        db,
        { kind: 'user', platform: 'slack', id: 'U1', tenant: 'T1' },
        {
          admins: [],
          defaultRole: 'viewer',
        },
      );
      expect(ann.ok && ann.value.role).toBe('approver');
      const annId = ann.ok ? ann.value.personId : '';
      expect(
        await db.selectFrom('person_identities').select('key').where('person_id', '=', annId).execute(),
      ).toEqual([{ key: 'slack:U1' }, { key: 'slack:T1:U1' }]);
      // VIGIL_ADMINS in the old form still names her: the short key is one of her identity's keys.
      const asAdmin = await identify(
        db,
        { kind: 'user', platform: 'slack', id: 'U1', tenant: 'T1' },
        {
          admins: ['slack:U1'],
          defaultRole: 'viewer',
        },
      );
      expect(asAdmin.ok && asAdmin.value.role).toBe('admin');

      // The trail is append-only and stays as written; each actor key names one identity of one person.
      const audit = await db
        .selectFrom('audit_log as a')
        .leftJoin('person_identities as i', 'i.key', 'a.actor_key')
        .select(['a.actor_key', 'i.person_id'])
        .orderBy('a.id')
        .execute();
      expect(audit).toEqual([
        { actor_key: 'slack:U1', person_id: annId },
        { actor_key: 'api:bob', person_id: service.value.personId },
        { actor_key: 'source:old', person_id: null },
      ]);
      // What the approval rules compare now names people: Ann's pending approval is still hers, the
      // investigation and its actions were requested by the API service.
      const servicePrincipal = `person:${service.value.personId}`;
      expect(
        (await db.selectFrom('investigations').select('started_by_key').executeTakeFirstOrThrow())
          .started_by_key,
      ).toBe(servicePrincipal);
      expect(
        await db.selectFrom('action_decisions').select(['action_id', 'approver_key']).orderBy('id').execute(),
      ).toEqual([
        { action_id: pending, approver_key: `person:${annId}` },
        { action_id: approved, approver_key: servicePrincipal },
        // The second approval under another typed name was the same service: it keeps its old key.
        { action_id: approved, approver_key: 'api:dave' },
      ]);
      const ben = await identify(
        db,
        { kind: 'user', platform: 'teams', id: 'oid-1' },
        {
          admins: [],
          defaultRole: 'responder',
        },
      );
      expect(ben.ok && ben.value.role).toBe('responder');
    } finally {
      await handle.close();
      await dropSchema(schema);
    }
  });
});
