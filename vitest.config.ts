import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Files run in parallel: each integration file takes its own Postgres schema and Redis prefix.
    pool: 'forks',
    testTimeout: 60_000,
    // CI runs every file in parallel on a 2-core machine shared with Postgres and Redis: one retry
    // keeps a rare timing flake from blocking a landing, while a real failure still fails twice.
    retry: process.env.CI ? 1 : 0,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
