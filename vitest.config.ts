import { configDefaults, defineConfig } from 'vitest/config';

const FAULTS = 'test/faults/**/*.test.ts';

export default defineConfig({
  test: {
    // Files run in parallel: each integration file takes its own Postgres schema and Redis prefix.
    pool: 'forks',
    testTimeout: 60_000,
    // No retries: a flaky test is a bug to fix, not to hide.
    retry: 0,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'vigil',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, FAULTS],
        },
      },
      {
        // Real `vigil web` and `vigil worker` processes killed under a storm: a project of its own,
        // with the build it runs made first, that runs alongside the other files.
        extends: true,
        test: {
          name: 'faults',
          include: [FAULTS],
          globalSetup: ['test/faults/build-dist.ts'],
          testTimeout: 240_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
