import { expect } from 'vitest';
import type { DomainError, Result } from '../../src/domain/index.js';

/** The value of an accepted result; fails the test (showing the refusal) when it was refused. */
export function expectOk<T>(result: Result<T>): T {
  if (!result.ok) expect.fail(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** The error of a refused result; fails the test when it was accepted. */
export function expectFail<T>(result: Result<T>, code: string): DomainError {
  if (result.ok) expect.fail(`expected a refusal with ${code}, got ok`);
  expect(result.error.code).toBe(code);
  return result.error;
}
