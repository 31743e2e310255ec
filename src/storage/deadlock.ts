/** Postgres gave up one of two transactions that waited on each other (40P01); the other went through. */
const isDeadlock = (error: unknown): boolean => (error as { code?: string } | null)?.code === '40P01';

/**
 * Runs a whole transaction again when Postgres aborted it to break a deadlock: by then the
 * transaction it waited on has committed, and the retry sees its result. Only for transactions
 * that make no call outside Postgres (they are then safe to repeat).
 */
export async function retryOnDeadlock<T>(transaction: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await transaction();
    } catch (error) {
      if (!isDeadlock(error) || attempt >= attempts) throw error;
    }
  }
}
