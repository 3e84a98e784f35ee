import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'notifications-demo',
    environment: 'node',
    include: ['test/**/*.test.ts'],
    // End-to-end tests start real servers and processes: keep them one file at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
