import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types. The key rule is
// copied here as SQL (from the domain's `entityKey` of this date) so later changes to it do not
// rewrite history.

/**
 * Identity keys compare as their identity provider does (`CFO@Contoso.com` is `cfo@contoso.com`).
 * Entities stored before were keyed as the source wrote them, so one user could be two entities.
 * This merges them: in each table that holds entity keys, rows that differ only in their key's
 * case keep one row (the worst verdict for an investigation's entity, the malicious entry on the
 * watchlist), and every key is rewritten in its normal form. Actions keep their target key when
 * another action of the same investigation already holds the normal one: they are history, with
 * approvals and executions of their own, and are never merged.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE FUNCTION pg_temp.vigil_entity_key(kind text, key text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
      SELECT CASE
        WHEN kind = 'device' THEN regexp_replace(lower(btrim(key, E' \\t\\r\\n')), '(.)\\.$', '\\1')
        WHEN kind IN ('user','mailbox','oauth_application','cloud_application','app','registry_key',
                      'registry_value','ip') THEN lower(btrim(key, E' \\t\\r\\n'))
        WHEN kind = 'file' AND btrim(key, E' \\t\\r\\n') ~ '^[0-9A-Fa-f]{32,128}$'
          THEN lower(btrim(key, E' \\t\\r\\n'))
        WHEN kind = 'url' AND key ~ '^[A-Za-z][A-Za-z0-9+.-]*://'
          THEN lower(substring(key from '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*'))
            || substring(key from length(substring(key from '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*')) + 1)
        ELSE key
      END
    $$`.execute(db);

  // An alert's entities: one row per (alert, kind, normal key); the row already normal wins.
  await sql`
    DELETE FROM alert_entities e USING (
      SELECT ctid AS row_id, row_number() OVER (
        PARTITION BY alert_id, kind, pg_temp.vigil_entity_key(kind, key)
        ORDER BY (key = pg_temp.vigil_entity_key(kind, key)) DESC, key) AS n
      FROM alert_entities) ranked
    WHERE e.ctid = ranked.row_id AND ranked.n > 1`.execute(db);
  await sql`UPDATE alert_entities SET key = pg_temp.vigil_entity_key(kind, key)
    WHERE key <> pg_temp.vigil_entity_key(kind, key)`.execute(db);

  // An investigation's entities: the worst verdict (and its reason) is the one kept.
  await sql`
    DELETE FROM investigation_entities e USING (
      SELECT ctid AS row_id, row_number() OVER (
        PARTITION BY investigation_id, kind, pg_temp.vigil_entity_key(kind, key)
        ORDER BY array_position(ARRAY['unknown','clean','suspicious','malicious'], verdict) DESC,
          (key = pg_temp.vigil_entity_key(kind, key)) DESC, key) AS n
      FROM investigation_entities) ranked
    WHERE e.ctid = ranked.row_id AND ranked.n > 1`.execute(db);
  await sql`UPDATE investigation_entities SET key = pg_temp.vigil_entity_key(kind, key)
    WHERE key <> pg_temp.vigil_entity_key(kind, key)`.execute(db);

  await sql`UPDATE findings SET entity_key = pg_temp.vigil_entity_key(entity_kind, entity_key)
    WHERE entity_kind IS NOT NULL AND entity_key <> pg_temp.vigil_entity_key(entity_kind, entity_key)`.execute(
    db,
  );

  await sql`
    UPDATE actions a SET target_key = ranked.normal
    FROM (
      SELECT id, pg_temp.vigil_entity_key(target_kind, target_key) AS normal, row_number() OVER (
        PARTITION BY investigation_id, kind, pg_temp.vigil_entity_key(target_kind, target_key)
        ORDER BY (target_key = pg_temp.vigil_entity_key(target_kind, target_key)) DESC, number) AS n
      FROM actions) ranked
    WHERE a.id = ranked.id AND ranked.n = 1 AND a.target_key <> ranked.normal`.execute(db);

  await sql`
    DELETE FROM watchlist w USING (
      SELECT id, row_number() OVER (
        PARTITION BY kind, pg_temp.vigil_entity_key(kind, value)
        ORDER BY (verdict = 'malicious') DESC, created_at, id) AS n
      FROM watchlist) ranked
    WHERE w.id = ranked.id AND ranked.n > 1`.execute(db);
  await sql`UPDATE watchlist SET value = pg_temp.vigil_entity_key(kind, value)
    WHERE value <> pg_temp.vigil_entity_key(kind, value)`.execute(db);

  await sql`DROP FUNCTION pg_temp.vigil_entity_key(text, text)`.execute(db);
}

/** Merged rows cannot be told apart again; going down leaves the keys in their normal form. */
export async function down(): Promise<void> {}
