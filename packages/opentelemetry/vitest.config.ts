import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'opentelemetry',
    environment: 'node',
    include: ['test/**/*.test.ts'],
    // Worker processes and PostgreSQL on a loaded 2-core machine: leave room.
    testTimeout: 60_000,
  },
});
