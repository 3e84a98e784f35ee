import { afterAll, beforeAll } from 'vitest';
import { describeBackendConformance } from '@djtasks/tasks/testing';
import { DatabaseBackend } from '../src/index.ts';
import { Worker } from '../src/worker.ts';
import { scratchDatabase, type ScratchDatabase, type TestDialect } from './helpers.ts';

/** Run the backend conformance suite against a scratch database of `dialect`, with an in-process worker. */
export function conformance(dialect: TestDialect): void {
  let db: ScratchDatabase;
  beforeAll(async () => {
    db = await scratchDatabase(dialect);
  });
  afterAll(async () => {
    await db.drop();
  });
  describeBackendConformance(`DatabaseBackend (${dialect})`, {
    backend: () => ({ backend: DatabaseBackend, options: { database: db.url } }),
    executes: true,
    startWorker: () => {
      const worker = new Worker({
        queues: '*',
        concurrency: 4,
        startupDelay: false,
        pollIntervalMs: 500,
      });
      worker.start();
      return Promise.resolve(async () => {
        await worker.stop();
      });
    },
  });
}
