import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationPacer } from '../../src/bot/teams/pacer.js';
import { ChatRateLimitedError } from '../../src/domain/index.js';
import { deleteRedisKeys, TEST_REDIS_URL } from '../helpers/harness.js';

const prefix = `test-${randomBytes(5).toString('hex')}`;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  redis.disconnect();
  await deleteRedisKeys(prefix);
});

const rejection = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
};

describe('ConversationPacer (real Redis)', () => {
  it('allows 7 sends per second per conversation, shared by every pacer on the same Redis', async () => {
    // Two pacers stand for two worker processes.
    const a = new ConversationPacer({ redis, prefix, maxInlineWaitMs: 0 });
    const b = new ConversationPacer({ redis, prefix, maxInlineWaitMs: 0 });
    for (let i = 0; i < 4; i++) await a.acquire('c1');
    for (let i = 0; i < 3; i++) await b.acquire('c1');
    const error = await rejection(a.acquire('c1'));
    expect(error).toBeInstanceOf(ChatRateLimitedError);
    expect((error as ChatRateLimitedError).retryAfterMs).toBeGreaterThan(0);
    expect((error as ChatRateLimitedError).retryAfterMs).toBeLessThanOrEqual(1_000);
    // Another conversation has its own budget.
    await b.acquire('c2');
  });

  it('waits in process for a short gap instead of failing', async () => {
    const pacer = new ConversationPacer({ redis, prefix, limits: [{ windowMs: 300, limit: 2 }] });
    const started = Date.now();
    for (let i = 0; i < 3; i++) await pacer.acquire('c3');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('holds every worker off a conversation after a 429, for Retry-After', async () => {
    const pacer = new ConversationPacer({ redis, prefix, maxInlineWaitMs: 0 });
    expect(await pacer.backOff('c4', 5_000)).toBe(5_000);
    const error = await rejection(new ConversationPacer({ redis, prefix, maxInlineWaitMs: 0 }).acquire('c4'));
    expect((error as ChatRateLimitedError).retryAfterMs).toBeGreaterThan(4_000);
  });

  it('backs off exponentially with jitter when Teams gives no Retry-After', async () => {
    const pacer = new ConversationPacer({ redis, prefix });
    const first = await pacer.backOff('c5', null);
    const second = await pacer.backOff('c5', null);
    const third = await pacer.backOff('c5', null);
    expect(first).toBeGreaterThanOrEqual(500);
    expect(first).toBeLessThanOrEqual(1_000);
    expect(second).toBeGreaterThanOrEqual(1_000);
    expect(third).toBeGreaterThanOrEqual(2_000);
    await pacer.succeeded('c5');
    expect(await pacer.backOff('c5', null)).toBeLessThanOrEqual(1_000);
  });
});
