import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/storage/db.js';
import { markCompletedMany } from '../../src/storage/outbox.repository.js';
import { startTestVigil, TEST_DATABASE_URL, type TestVigil } from '../helpers/harness.js';

// The web role alone: nothing relays or works the rows this file writes.
let vigil: TestVigil;
beforeAll(async () => {
  vigil = await startTestVigil({ roles: { web: true, worker: false } });
});
afterAll(async () => {
  await vigil?.close();
});

async function pendingRow(key: string): Promise<string> {
  const { rows } = await sql<{ id: string }>`INSERT INTO outbox (topic, payload, dedupe_key)
    VALUES ('notify', ${JSON.stringify({ alertId: key, reason: 'created' })}::jsonb, ${key}) RETURNING id`.execute(
    vigil.handle.db,
  );
  return String(rows[0]?.id);
}

describe('completing the rows of a shared job', () => {
  it('marks rows done, skips a row a transaction is folding into (busy), and leaves a row whose fold committed', async () => {
    const [plain, folding, folded] = [
      await pendingRow('notify:plain'),
      await pendingRow('notify:folding'),
      await pendingRow('notify:folded'),
    ];
    await sql`UPDATE outbox SET requested = requested + 1 WHERE id = ${folded}`.execute(vigil.handle.db);
    // Another connection folds a request into `folding` and has not committed yet.
    const other = openDb({ url: TEST_DATABASE_URL, schema: vigil.schema, poolSize: 1 });
    let commit: () => void = () => {};
    const holding = new Promise<void>((resolve) => {
      commit = resolve;
    });
    let locked: () => void = () => {};
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const fold = other.db.transaction().execute(async (trx) => {
      await sql`UPDATE outbox SET requested = requested + 1 WHERE id = ${folding}`.execute(trx);
      locked();
      await holding;
    });
    try {
      await isLocked;
      const first = await markCompletedMany(vigil.handle.db, [
        { id: plain, requested: 1 },
        { id: folding, requested: 1 },
        { id: folded, requested: 1 },
      ]);
      expect([...first.completed]).toEqual([plain]);
      expect([...first.busy]).toEqual([folding]);
      commit();
      await fold;
      // Once the fold is in, the row is neither done nor busy: it needs another pass.
      const second = await markCompletedMany(vigil.handle.db, [{ id: folding, requested: 1 }]);
      expect(second).toEqual({ completed: new Set(), busy: new Set() });
      const after = await markCompletedMany(vigil.handle.db, [{ id: folding, requested: 2 }]);
      expect([...after.completed]).toEqual([folding]);
    } finally {
      commit();
      await fold.catch(() => {});
      await other.close();
    }
  });
});
