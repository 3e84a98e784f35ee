import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'backend-local',
    environment: 'node',
    include: ['test/**/*.test.ts'],
    // Real threads on a loaded 2-core machine: leave room, the tests themselves take ~1 s each.
    testTimeout: 30_000,
  },
});
