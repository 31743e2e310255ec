import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ChatRateLimitedError } from '../../domain/index.js';

/**
 * Teams' documented limits per bot per conversation: 7 per 1 s, 8 per 2 s, 60 per 30 s and
 * 1,800 per hour. A sliding-window log per conversation in Redis (one Lua script: check every
 * window, then record the send) so every worker process shares one count.
 */
export const TEAMS_CONVERSATION_LIMITS = [
  { windowMs: 1_000, limit: 7 },
  { windowMs: 2_000, limit: 8 },
  { windowMs: 30_000, limit: 60 },
  { windowMs: 3_600_000, limit: 1_800 },
] as const;

// Returns 0 and records the send when every window has room; otherwise the ms until one frees up.
// Redis's own clock keeps all workers on one time line.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then return blocked end
local longest = 0
local wait = 0
for i = 2, #ARGV, 2 do
  local window = tonumber(ARGV[i])
  local limit = tonumber(ARGV[i + 1])
  if window > longest then longest = window end
  local floor = '(' .. (now - window)
  local n = redis.call('ZCOUNT', KEYS[1], floor, '+inf')
  if n >= limit then
    local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], floor, '+inf', 'WITHSCORES', 'LIMIT', n - limit, 1)
    local w = tonumber(oldest[2]) + window - now
    if w < 1 then w = 1 end
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[1])
redis.call('PEXPIRE', KEYS[1], longest)
return 0
`;

export interface PacerOptions {
  readonly redis: Redis;
  /** Key prefix (the install's queue prefix), so installs sharing a Redis do not share counts. */
  readonly prefix: string;
  /** Waits up to this long in process rather than delaying the job. @defaultValue 1000 */
  readonly maxInlineWaitMs?: number;
  readonly limits?: readonly { readonly windowMs: number; readonly limit: number }[];
}

export class ConversationPacer {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #maxInlineWaitMs: number;
  readonly #limitArgs: string[];

  constructor(options: PacerOptions) {
    this.#redis = options.redis;
    this.#prefix = `${options.prefix}:teams-pacer`;
    this.#maxInlineWaitMs = options.maxInlineWaitMs ?? 1_000;
    this.#limitArgs = (options.limits ?? TEAMS_CONVERSATION_LIMITS).flatMap((l) => [
      String(l.windowMs),
      String(l.limit),
    ]);
  }

  /**
   * Takes one send slot for the conversation. A short wait (a burst of updates) is slept here;
   * a long one throws ChatRateLimitedError so the job is delayed without holding a worker.
   */
  async acquire(conversationId: string): Promise<void> {
    for (;;) {
      const wait = Number(
        await this.#redis.eval(
          ACQUIRE,
          2,
          this.#key('log', conversationId),
          this.#key('block', conversationId),
          randomUUID(),
          ...this.#limitArgs,
        ),
      );
      if (wait <= 0) return;
      if (wait > this.#maxInlineWaitMs) throw new ChatRateLimitedError(wait);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /**
   * Teams said 429 (or 412/502/504): every worker holds off this conversation. Without a
   * Retry-After, the wait doubles with each strike in a row (1 s, 2 s, 4 s… up to 60 s) with jitter.
   * Returns the wait chosen.
   */
  async backOff(conversationId: string, retryAfterMs: number | null): Promise<number> {
    const strikesKey = this.#key('strikes', conversationId);
    const strikes = await this.#redis.incr(strikesKey);
    await this.#redis.pexpire(strikesKey, 120_000);
    const exponential = Math.min(60_000, 1_000 * 2 ** Math.min(strikes - 1, 6));
    const jittered = Math.round(exponential * (0.5 + Math.random() / 2));
    const wait = Math.max(1, retryAfterMs ?? jittered);
    await this.#redis.set(this.#key('block', conversationId), '1', 'PX', wait);
    return wait;
  }

  /** A send went through: the next throttle starts from a short back-off again. */
  async succeeded(conversationId: string): Promise<void> {
    await this.#redis.del(this.#key('strikes', conversationId));
  }

  #key(kind: string, conversationId: string): string {
    return `${this.#prefix}:${kind}:${conversationId}`;
  }
}
