import { describe, expect, it } from 'vitest';
import { logConnectionErrors } from './connection-log.js';
import type { Logger } from './logger.js';

describe('logConnectionErrors', () => {
  it('writes one line per outage, with the code and message only', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = { warn: (fields: Record<string, unknown>) => lines.push(fields) } as unknown as Logger;
    const onError = logConnectionErrors(logger, 'redis producer', 60_000);
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), {
      code: 'ECONNREFUSED',
      options: { password: 'hunter2' },
    });
    for (let attempt = 0; attempt < 20; attempt += 1) onError(refused);
    expect(lines).toEqual([
      {
        connection: 'redis producer',
        code: 'ECONNREFUSED',
        error: 'connect ECONNREFUSED 127.0.0.1:6379',
        suppressedSinceLast: 0,
      },
    ]);
    expect(JSON.stringify(lines)).not.toContain('hunter2');
  });
});
