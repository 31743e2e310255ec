import { type Kysely, sql } from 'kysely';

// Frozen in time: uses Kysely<any> and raw SQL, never the app's current types.

/**
 * Wakes the outbox relays from the database itself: one NOTIFY per statement that adds outbox
 * rows, delivered on commit (never for a rolled-back change), whoever wrote the rows. It saves
 * every writing transaction a round trip, and Postgres folds repeated notifications of one
 * transaction into one.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE FUNCTION vigil_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('vigil_outbox_' || current_schema(), '');
      RETURN NULL;
    END $$`.execute(db);
  await sql`CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_outbox_notify()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER IF EXISTS outbox_notify ON outbox`.execute(db);
  await sql`DROP FUNCTION IF EXISTS vigil_outbox_notify()`.execute(db);
}
