/**
 * A token bucket per sender: `ratePerSecond` sustained, bursts up to two seconds' worth. Kept in
 * process memory on purpose: it protects this process from a flood and costs nothing per request;
 * with N web processes a sender gets N times the rate, which is still a bound. Keys are the
 * caller's to choose, and must not be the sender's: a key taken from the body is a new bucket
 * per request.
 */
export class SenderRateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes `cost` tokens; returns 0 when allowed, else the seconds to wait before trying again. */
  take(sender: string, cost: number): number {
    const capacity = this.ratePerSecond * 2;
    const now = this.now();
    const bucket = this.#buckets.get(sender) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSecond);
    bucket.at = now;
    this.#buckets.set(sender, bucket);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return 0;
    }
    return Math.max(1, Math.ceil((cost - bucket.tokens) / this.ratePerSecond));
  }
}
