import { afterEach, describe, expect, it } from 'vitest';
import { configureTasks, taskBackends } from '@djtasks/tasks';
import { noop } from '@djtasks/tasks/testing/fixtures';
import { DatabaseBackend } from '../src/index.ts';
import { backendSuite } from './backend-suite.ts';

backendSuite('postgresql');

describe('DatabaseBackend when PostgreSQL is unreachable', () => {
  afterEach(async () => {
    await taskBackends.close();
    configureTasks();
  });

  it("rejects the enqueue with the database's error", async () => {
    configureTasks({
      backends: {
        default: {
          backend: DatabaseBackend,
          options: { database: 'postgresql://postgres@127.0.0.1:1/none' },
        },
      },
    });
    await expect(noop.enqueue()).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});
