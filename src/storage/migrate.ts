import { type Migration, type MigrationResultSet, Migrator, sql } from 'kysely';
import type { DbHandle } from './db.js';
import * as alerts from './migrations/2026-11-23T0900_alerts.js';
import * as people from './migrations/2026-11-23T0930_people.js';
import * as slackRoutes from './migrations/2026-11-23T1000_slack_routes.js';
import * as teamsConversations from './migrations/2026-11-23T1030_teams_conversations.js';
import * as remediations from './migrations/2026-11-23T1100_remediations.js';
import * as investigations from './migrations/2026-11-23T1130_investigations.js';
import * as policies from './migrations/2026-11-23T1200_policies.js';
import * as outboxDue from './migrations/2026-11-23T1300_outbox_due.js';
import * as investigationCards from './migrations/2026-11-23T1330_investigation_cards.js';
import * as outboxNotify from './migrations/2026-11-23T1400_outbox_notify.js';
import * as cardClaims from './migrations/2026-12-01T1000_card_claims.js';
import * as entityKeys from './migrations/2026-12-01T1300_entity_keys.js';
import * as actionCenter from './migrations/2026-12-01T1500_action_center.js';
import * as graphSync from './migrations/2026-12-01T1600_graph_sync.js';
import * as graphWriteBack from './migrations/2026-12-01T1610_graph_writeback.js';
import * as graphEvidenceHash from './migrations/2026-12-01T1620_graph_evidence_hash.js';
import * as persons from './migrations/2026-12-01T1700_persons.js';
import * as policyRemediations from './migrations/2026-12-01T1900_policy_remediations.js';
import * as noticeDeliveries from './migrations/2026-12-01T1910_remediation_notice_deliveries.js';
import * as incidents from './migrations/2026-12-01T2000_incidents.js';
import * as identityUpn from './migrations/2026-12-01T2010_identity_upn.js';
import * as consoleSessions from './migrations/2026-12-01T2100_console_sessions.js';
import * as identityEmail from './migrations/2026-12-02T1200_identity_email.js';
import * as cardIncident from './migrations/2026-12-02T1300_card_incident.js';
import * as noticeMessageRefs from './migrations/2026-12-02T1600_notice_message_refs.js';
import * as incidentStatusCounts from './migrations/2026-12-02T1900_incident_status_counts.js';
import * as outboxJobId from './migrations/2026-12-03T0900_outbox_job_id.js';
import * as outboxClaimOrder from './migrations/2026-12-03T1000_outbox_claim_order.js';

/** Every migration, in order. Listed by hand so the build and tsx load the same set. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '2026-11-23T0900_alerts': alerts,
  '2026-11-23T0930_people': people,
  '2026-11-23T1000_slack_routes': slackRoutes,
  '2026-11-23T1030_teams_conversations': teamsConversations,
  '2026-11-23T1100_remediations': remediations,
  '2026-11-23T1130_investigations': investigations,
  '2026-11-23T1200_policies': policies,
  '2026-11-23T1300_outbox_due': outboxDue,
  '2026-11-23T1330_investigation_cards': investigationCards,
  '2026-11-23T1400_outbox_notify': outboxNotify,
  '2026-12-01T1000_card_claims': cardClaims,
  '2026-12-01T1300_entity_keys': entityKeys,
  '2026-12-01T1500_action_center': actionCenter,
  '2026-12-01T1600_graph_sync': graphSync,
  '2026-12-01T1610_graph_writeback': graphWriteBack,
  '2026-12-01T1620_graph_evidence_hash': graphEvidenceHash,
  '2026-12-01T1700_persons': persons,
  '2026-12-01T1900_policy_remediations': policyRemediations,
  '2026-12-01T1910_remediation_notice_deliveries': noticeDeliveries,
  '2026-12-01T2000_incidents': incidents,
  '2026-12-01T2010_identity_upn': identityUpn,
  '2026-12-01T2100_console_sessions': consoleSessions,
  '2026-12-02T1200_identity_email': identityEmail,
  '2026-12-02T1300_card_incident': cardIncident,
  '2026-12-02T1600_notice_message_refs': noticeMessageRefs,
  '2026-12-02T1900_incident_status_counts': incidentStatusCounts,
  '2026-12-03T0900_outbox_job_id': outboxJobId,
  '2026-12-03T1000_outbox_claim_order': outboxClaimOrder,
};

/**
 * Creates the schema and applies pending migrations under a Postgres advisory lock, so any
 * number of processes may start together. Returns Kysely's result set; never throws for a
 * failed migration (the caller reports `error`).
 */
export async function migrate(handle: DbHandle): Promise<MigrationResultSet> {
  return handle.db.connection().execute(async (conn) => {
    const lockKey = `vigil.migrate.${handle.schema}`;
    await sql`SELECT pg_advisory_lock(hashtext(${lockKey}))`.execute(conn);
    try {
      await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(handle.schema)}`.execute(conn);
      const migrator = new Migrator({
        db: conn.withSchema(handle.schema),
        provider: { getMigrations: async () => MIGRATIONS },
        migrationTableSchema: handle.schema,
      });
      return await migrator.migrateToLatest();
    } finally {
      await sql`SELECT pg_advisory_unlock(hashtext(${lockKey}))`.execute(conn);
    }
  });
}
