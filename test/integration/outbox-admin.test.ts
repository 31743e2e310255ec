import { spawn } from 'node:child_process';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxHousekeeper } from '../../src/jobs/outbox-housekeeper.js';
import { createLogger } from '../../src/logger.js';
import {
  eventually,
  startTestVigil,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  type TestVigil,
} from '../helpers/harness.js';

let vigil: TestVigil;

beforeAll(async () => {
  vigil = await startTestVigil();
});
afterAll(async () => {
  await vigil?.close();
});

/** Runs `vigil <args>` against this file's schema and queue prefix. */
function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: TEST_DATABASE_URL,
        REDIS_URL: TEST_REDIS_URL,
        VIGIL_DB_SCHEMA: vigil.schema,
        VIGIL_QUEUE_PREFIX: vigil.prefix,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

const outboxRow = (id: string) =>
  vigil.handle.db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

/**
 * An outbox row already handed over (the relay leaves it alone), completed or failed that many
 * days ago: the rows the purge and the replay work on.
 */
async function handedOverRow(state: { completedDaysAgo?: number; failedDaysAgo?: number }): Promise<string> {
  const daysAgo = (days: number | undefined) =>
    days === undefined ? null : sql<Date>`now() - make_interval(days => ${days})`;
  const row = await vigil.handle.db
    .insertInto('outbox')
    .values({
      topic: 'remediation_due',
      payload: JSON.stringify({}),
      enqueued_at: sql<Date>`now()`,
      completed_at: daysAgo(state.completedDaysAgo),
      failed_at: daysAgo(state.failedDaysAgo),
      last_error: state.failedDaysAgo === undefined ? null : 'gave up',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function ingestedAlertId(title: string): Promise<string> {
  const response = await vigil.ingest('generic', { title, source: 'outbox-admin', fingerprint: title });
  expect(response.status).toBe(202);
  return ((await response.json()) as { alerts: { id: string }[] }).alerts[0]?.id as string;
}

describe('failed outbox rows', () => {
  it('are counted in /metrics, listed by `vigil outbox failed`, and re-driven by `vigil outbox replay`', async () => {
    const alertId = await ingestedAlertId('Replay me');
    // A job that fails for good at once (its payload does not parse): BullMQ keeps it as failed.
    const inserted = await vigil.handle.db
      .insertInto('outbox')
      .values({ topic: 'notify', payload: JSON.stringify({ alertId: 'not-a-uuid', reason: 'created' }) })
      .returning('id')
      .executeTakeFirstOrThrow();
    const failed = await eventually(
      async () => {
        const row = await outboxRow(inserted.id);
        return row.failed_at !== null ? row : undefined;
      },
      20_000,
      'the job to fail for good',
    );
    expect(failed.last_error).toContain('bad notify payload');
    // An error text that quotes a secret, as a careless platform answer might.
    await vigil.handle.db
      .updateTable('outbox')
      .set({ last_error: 'refused: Authorization: Bearer sk-live-abc123 with token xoxb-1-2-secret' })
      .where('id', '=', inserted.id)
      .execute();

    const metrics = await (await fetch(`${vigil.baseUrl}/metrics`)).text();
    expect(metrics).toContain('vigil_outbox_failed{topic="notify"} 1');
    expect(metrics).toMatch(/vigil_outbox_oldest_due_seconds|vigil_outbox_unfinished 0/);

    const listed = await cli(['outbox', 'failed', '--topic', 'notify']);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${inserted.id}\\tnotify\\t\\d{4}-\\d\\d-\\d\\dT`, 'm'));
    expect(listed.stdout).toContain('1 failed outbox row(s) in notify.');
    expect(listed.stdout).not.toContain('sk-live-abc123');
    expect(listed.stdout).not.toContain('secret');
    const none = await cli(['outbox', 'failed', '--topic', 'ticket', '--limit', '5']);
    expect(none.stdout).toContain('0 failed outbox row(s) in ticket.');

    // The cause is fixed (here, the payload); the replay sends the row through the relay again.
    await vigil.handle.db
      .updateTable('outbox')
      .set({ payload: JSON.stringify({ alertId, reason: 'created' }) })
      .where('id', '=', inserted.id)
      .execute();
    const replayed = await cli(['outbox', 'replay', '--id', inserted.id]);
    expect(replayed.status, replayed.stderr).toBe(0);
    expect(replayed.stdout).toContain('Replayed 1 failed outbox row(s)');
    expect(replayed.stdout).toContain('replayed failed outbox rows');
    const done = await eventually(
      async () => {
        const row = await outboxRow(inserted.id);
        return row.completed_at !== null ? row : undefined;
      },
      20_000,
      'the replayed row to complete',
    );
    expect(done.failed_at).toBeNull();

    // Idempotent: nothing is failed any more, so nothing is sent twice.
    const again = await cli(['outbox', 'replay', '--topic', 'notify']);
    expect(again.stdout).toContain('Replayed 0 failed outbox row(s)');
    const after = await (await fetch(`${vigil.baseUrl}/metrics`)).text();
    expect(after).not.toContain('vigil_outbox_failed{topic="notify"} 1');
  }, 60_000);

  it('refuses to replay while Redis does not answer, changing nothing', async () => {
    const id = await handedOverRow({ failedDaysAgo: 0 });
    const result = await cli(['outbox', 'replay', '--id', id], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Redis (REDIS_URL) does not answer: nothing was replayed.');
    expect((await outboxRow(id)).failed_at).not.toBeNull();
  });

  it('explains a bad command line', async () => {
    const result = await cli(['outbox', 'replay', '--topic', 'nope']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--topic must be one of notify');
  });
});

describe('outbox housekeeping', () => {
  it('deletes completed rows past the retention in small batches, and nothing else', async () => {
    const old = await Promise.all(Array.from({ length: 5 }, () => handedOverRow({ completedDaysAgo: 8 })));
    const recent = await handedOverRow({ completedDaysAgo: 6 });
    const failedLongAgo = await handedOverRow({ failedDaysAgo: 30 });

    const housekeeper = new OutboxHousekeeper({
      handle: vigil.handle,
      logger: createLogger('silent'),
      retentionDays: 7,
      batch: 2,
      pauseMs: 1,
    });
    expect(await housekeeper.purge()).toBe(5);
    const left = await vigil.handle.db
      .selectFrom('outbox')
      .select('id')
      .where('id', 'in', [...old, recent, failedLongAgo])
      .execute();
    expect(left.map((row) => row.id).sort()).toEqual([recent, failedLongAgo].sort());
    await housekeeper.stop();
  });

  it('is run by the worker role, with the retention it is configured with', async () => {
    const expired = await handedOverRow({ completedDaysAgo: 3 });
    const worker = await startTestVigil({
      joining: vigil,
      roles: { web: false, worker: true },
      env: { VIGIL_OUTBOX_RETENTION_DAYS: '2' },
    });
    try {
      await eventually(
        async () =>
          (await vigil.handle.db.selectFrom('outbox').select('id').where('id', '=', expired).execute())
            .length === 0,
        20_000,
        'the expired row to be deleted',
      );
    } finally {
      await worker.close();
    }
  });
});
