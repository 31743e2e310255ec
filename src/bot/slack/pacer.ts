import type { Redis } from 'ioredis';
import { ChatRateLimitedError } from '../../domain/index.js';

/**
 * Slot-based pacing shared by every worker process through Redis: one call per key per
 * interval. A caller that finds the slot taken gets ChatRateLimitedError with the time left, so
 * its job comes back later without holding a worker, and other channels go on meanwhile. Slots
 * are work in flight: losing them (a Redis wipe) only allows one early call.
 */
export class SlackPacer {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(name: string): string {
    return `${this.prefix}:slack:pace:${name}`;
  }

  /**
   * Takes the slot of `name` for `intervalMs`, or throws ChatRateLimitedError with the wait.
   *
   * `card` names what the caller wants to render. In a storm hundreds of notify jobs want the same
   * card; the first to wait comes back when the slot frees, the others come back much later. Any
   * of them renders the latest state when it runs, so the later ones then usually find the card
   * current and finish without a call, instead of all of them polling the slot every second.
   * Nobody is dropped: every job still runs, so no update can be lost.
   */
  async take(name: string, intervalMs: number, card?: string): Promise<void> {
    const key = this.key(name);
    const taken = await this.redis.set(key, '1', 'PX', intervalMs, 'NX');
    if (taken === 'OK') return;
    const left = Math.max(await this.redis.pttl(key), 20);
    // A little jitter so the jobs waiting on one slot do not all wake in the same millisecond.
    const jitter = Math.floor(Math.random() * Math.min(250, intervalMs / 2));
    if (card !== undefined) {
      const first = await this.redis.set(this.key(`waiting:${card}`), '1', 'PX', left, 'NX');
      if (first !== 'OK') throw new ChatRateLimitedError(left + Math.max(3000, 3 * intervalMs) + jitter * 8);
    }
    throw new ChatRateLimitedError(left + jitter);
  }

  /**
   * Throws ChatRateLimitedError with the wait if the slot of `name` is taken now, without taking
   * it: a cheap look before work that ends in a call, which then takes the slot right before it.
   */
  async peek(name: string, intervalMs: number): Promise<void> {
    const left = await this.redis.pttl(this.key(name));
    if (left <= 0) return;
    const jitter = Math.floor(Math.random() * Math.min(250, intervalMs / 2));
    throw new ChatRateLimitedError(left + jitter);
  }

  /** Slack said wait (429 Retry-After): nobody takes the slot before then. */
  async block(name: string, ms: number): Promise<void> {
    await this.redis.set(this.key(name), '1', 'PX', Math.max(1, Math.ceil(ms)));
  }
}
