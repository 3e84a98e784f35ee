import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'backend-db',
    environment: 'node',
    include: ['test/**/*.test.ts'],
    // The MariaDB files are a project of their own (vitest.mariadb.config.ts), run beside this one.
    exclude: ['test/**/*.mariadb.test.ts'],
    // The database tests share two cores with the rest of the repository; files run one at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
