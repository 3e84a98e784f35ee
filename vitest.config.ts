import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
    // PostgreSQL for the tests: the configured server, or a throwaway embedded one.
    globalSetup: ['./test-support/postgres-server.ts'],
  },
});
