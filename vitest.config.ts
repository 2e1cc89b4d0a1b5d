import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // the tests time real runtimes: run files one at a time on the 2-core machine
    fileParallelism: false,
  },
});
