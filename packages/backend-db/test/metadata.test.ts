// Task metadata in the database: a bulk enqueue larger than one INSERT statement holds keeps
// every row's metadata (SQLite's parameter limit, PostgreSQL's JSON path); a task enqueued
// without any reads back with none. (Rows from before 0004: test/migrations.test.ts.)
import { addTaskInstrumentation, configureTasks, taskBackends } from '@djtasks/tasks';
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseBackend } from '../src/index.ts';
import { INSERT_CHUNK } from '../src/sql/insert.ts';
import { countRun } from './fixtures/tasks.ts';
import { scratchDatabase } from './helpers.ts';

describe.each(['sqlite', 'postgresql'] as const)('task metadata (%s)', (dialect) => {
  let remove: (() => void) | undefined;
  afterEach(async () => {
    remove?.();
    await taskBackends.close();
    configureTasks();
  });

  it('stores each row of a bulk enqueue larger than one INSERT with its metadata', async () => {
    const db = await scratchDatabase(dialect);
    try {
      configureTasks({
        backends: { default: { backend: DatabaseBackend, options: { database: db.url } } },
      });
      let n = 0;
      remove = addTaskInstrumentation({ metadata: () => ({ n: String(n++), tenant: 'acme' }) });
      const count = INSERT_CHUNK + 100;
      const results = await countRun.enqueueMany(Array.from({ length: count }, () => [] as []));
      expect(results).toHaveLength(count);
      const backend = taskBackends.get('default');
      for (const index of [0, INSERT_CHUNK - 1, INSERT_CHUNK, count - 1]) {
        const stored = await backend.getResult(results[index]!.id);
        expect(stored.metadata).toEqual({ n: String(index), tenant: 'acme' });
      }
      remove();
      remove = undefined;
      const plain = await countRun.enqueue();
      expect((await backend.getResult(plain.id)).metadata).toEqual({});
    } finally {
      await taskBackends.close();
      await db.drop();
    }
  });
});
