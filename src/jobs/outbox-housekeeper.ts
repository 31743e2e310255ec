import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import type { DbHandle } from '../storage/db.js';
import { deleteCompletedBatch } from '../storage/outbox-admin.repository.js';

export interface OutboxHousekeeperOptions {
  readonly handle: DbHandle;
  readonly logger: Logger;
  /** Completed rows older than this are deleted (VIGIL_OUTBOX_RETENTION_DAYS). */
  readonly retentionDays: number;
  /** @defaultValue 600000 (ten minutes) */
  readonly everyMs?: number;
  /** Rows per DELETE: short statements, short locks, little WAL at a time. @defaultValue 1000 */
  readonly batch?: number;
  /** Pause between two DELETEs, so a large backlog does not hog the database. @defaultValue 200 */
  readonly pauseMs?: number;
}

/**
 * Deletes completed outbox rows past their retention, in small batches, at start and then
 * periodically, in every worker process: batches skip each other's locked rows, so running in
 * several processes at once is harmless.
 */
export class OutboxHousekeeper {
  readonly #options: OutboxHousekeeperOptions;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<number> | null = null;
  #stopped = false;

  constructor(options: OutboxHousekeeperOptions) {
    this.#options = options;
  }

  start(): void {
    const run = () => {
      this.#running ??= this.purge()
        .catch((error: Error) => {
          this.#options.logger.warn({ error: error.message }, 'outbox housekeeping failed; will retry');
          return 0;
        })
        .finally(() => {
          this.#running = null;
        });
    };
    run();
    this.#timer = setInterval(run, this.#options.everyMs ?? 600_000);
    this.#timer.unref();
  }

  /** Deletes every expired row, a batch at a time; returns how many went. */
  async purge(): Promise<number> {
    const { handle, logger, retentionDays } = this.#options;
    const batch = this.#options.batch ?? 1_000;
    let total = 0;
    while (!this.#stopped) {
      const deleted = await deleteCompletedBatch(handle.db, retentionDays, batch);
      total += deleted;
      if (deleted < batch) break;
      await sleep(this.#options.pauseMs ?? 200);
    }
    if (total > 0) logger.info({ deleted: total, retentionDays }, 'deleted completed outbox rows');
    return total;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.#running;
  }
}
