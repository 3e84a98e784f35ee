import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'packages/backend-db/vitest.mariadb.config.ts'],
    // PostgreSQL for the tests: the configured server, or a throwaway embedded one. MariaDB:
    // the configured server, or its test files skip (loudly; CI requires it).
    globalSetup: ['./test-support/postgres-server.ts', './test-support/mariadb-server.ts'],
  },
});
