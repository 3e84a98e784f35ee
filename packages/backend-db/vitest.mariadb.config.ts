import { defineProject } from 'vitest/config';

/**
 * The MariaDB test files, as a vitest project of their own: they wait on a server of their own
 * (not on PostgreSQL or the CPU, mostly), so they run beside the other backend-db files instead
 * of after them, one file at a time as those do. Listed in the root vitest.config.ts.
 */
export default defineProject({
  test: {
    name: 'backend-db-mariadb',
    root: import.meta.dirname,
    environment: 'node',
    include: ['test/**/*.mariadb.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
