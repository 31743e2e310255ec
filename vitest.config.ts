import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Files run in parallel: each integration file takes its own Postgres schema and Redis prefix.
    pool: 'forks',
    testTimeout: 60_000,
    // No retries: a flaky test is a bug to fix, not to hide.
    retry: 0,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
