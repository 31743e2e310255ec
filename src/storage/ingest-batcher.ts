import { type AlertDraft, type Clock, groupOccurrences } from '../domain/index.js';
import { type OccurrenceOutcome, storeOccurrences } from './alert-ingest.repository.js';
import type { DbHandle } from './db.js';

export interface DraftOutcome extends OccurrenceOutcome {}

interface Pending {
  readonly drafts: readonly AlertDraft[];
  readonly resolve: (outcomes: DraftOutcome[]) => void;
  readonly reject: (error: unknown) => void;
}

export interface IngestBatcherOptions {
  /** Drafts per transaction at most. @defaultValue 250 */
  readonly maxBatch?: number;
  /**
   * Transactions in flight at once; requests arriving meanwhile wait and form the next batch (see
   * `ingestInFlight` in web-cluster.ts for how many a process keeps). @defaultValue 1
   */
  readonly maxInFlight?: number;
}

/**
 * Group commit for ingest: drafts from concurrent requests that arrive while earlier batches are
 * being written are stored together in one transaction (one multi-row upsert, one audit insert,
 * one outbox insert). Each request still gets its answer only after its own rows committed, so a
 * 202 always means "in Postgres". If a shared batch fails, each request is retried alone, so one
 * bad request cannot fail its neighbours.
 */
export class IngestBatcher {
  readonly #handle: DbHandle;
  readonly #clock: Clock;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #queue: Pending[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(handle: DbHandle, clock: Clock, options: IngestBatcherOptions = {}) {
    this.#handle = handle;
    this.#clock = clock;
    this.#maxBatch = options.maxBatch ?? 250;
    this.#maxInFlight = options.maxInFlight ?? 1;
  }

  /** Stores the drafts; resolves with one outcome per draft, in order, once they are committed. */
  submit(drafts: readonly AlertDraft[]): Promise<DraftOutcome[]> {
    if (drafts.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.#queue.push({ drafts, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#maxInFlight || this.#queue.length === 0) return;
    this.#scheduled = true;
    // Let the requests of this turn of the event loop join the batch.
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch: Pending[] = [];
      let size = 0;
      while (
        this.#queue.length > 0 &&
        (batch.length === 0 || size + (this.#queue[0]?.drafts.length ?? 0) <= this.#maxBatch)
      ) {
        const next = this.#queue.shift() as Pending;
        batch.push(next);
        size += next.drafts.length;
      }
      this.#inFlight += 1;
      this.#write(batch).finally(() => {
        this.#inFlight -= 1;
        this.#schedule();
      });
    }
  }

  async #write(batch: readonly Pending[]): Promise<void> {
    try {
      const outcomes = await this.#store(batch.flatMap((pending) => pending.drafts));
      let offset = 0;
      for (const pending of batch) {
        pending.resolve(outcomes.slice(offset, offset + pending.drafts.length));
        offset += pending.drafts.length;
      }
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      await Promise.all(batch.map((pending) => this.#write([pending])));
    }
  }

  async #store(drafts: readonly AlertDraft[]): Promise<DraftOutcome[]> {
    const groups = groupOccurrences(drafts);
    const stored = await storeOccurrences(this.#handle, groups, this.#clock);
    const outcomes: DraftOutcome[] = new Array(drafts.length);
    groups.forEach((group, index) => {
      const outcome = stored[index] as OccurrenceOutcome;
      group.members.forEach((member, position) => {
        // Later members of a group are duplicates of the first, whatever the first was.
        outcomes[member] = { ...outcome, duplicate: outcome.duplicate || position > 0 };
      });
    });
    return outcomes;
  }
}
