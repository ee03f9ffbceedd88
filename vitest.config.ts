import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Integration tests open chDB (one data directory per process) and real servers:
    // forks keep each file in its own process.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
