import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'backend-local',
    environment: 'node',
    include: ['test/**/*.test.ts'],
  },
});
