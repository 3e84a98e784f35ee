/**
 * djtasks' DatabaseBackend: one factory for every database it runs on, so a database is one
 * call (`djtasksSystem({...})`) in a small file.
 */
import { configureTasks, taskBackends } from '@djtasks/tasks';
import { DatabaseBackend, migrate } from '@djtasks/backend-db';
import { Worker } from '@djtasks/backend-db/worker';
import type { BenchDatabase } from '../databases.ts';
import { benchTask, hooks } from '../tasks.ts';
import type { BenchSystem, Measure } from './types.ts';

const README = 'packages/backend-db/README.md, "djtasks worker" (this repository)';

function configure(location: string, createDatabase = false): DatabaseBackend {
  configureTasks({
    backends: {
      default: {
        backend: DatabaseBackend,
        queues: [],
        options: { database: location, createDatabase },
      },
    },
  });
  return taskBackends.get('default') as DatabaseBackend;
}

async function close(): Promise<void> {
  await taskBackends.close();
  configureTasks();
}

export interface DjtasksVariant {
  id: string;
  label: string;
  database: BenchDatabase;
  /** Tasks claimed ahead of free slots (`--prefetch`); 0 is the default. */
  prefetch: number;
  /** `--interval` in ms; the default is 1000. */
  pollIntervalMs?: number;
  measures?: readonly Measure[];
  configuration: string;
}

export function djtasksSystem(variant: DjtasksVariant): BenchSystem {
  return {
    id: variant.id,
    label: variant.label,
    family: 'djtasks',
    database: variant.database.kind,
    measures: variant.measures ?? ['enqueue', 'drain', 'latency'],
    configuration: variant.configuration,
    docs: [README],
    version: 'this checkout',
    remainingSql: `select count(*) as n from djtasks_task_result where status in ('READY', 'RUNNING')`,
    async install(location) {
      const backend = configure(location, true);
      try {
        await migrate((await backend.getOrm()).em);
      } finally {
        await close();
      }
    },
    producer(location) {
      configure(location);
      return Promise.resolve({
        enqueueOne: async (t) => {
          await benchTask.enqueue(t);
        },
        enqueueBulk: async (n) => {
          await benchTask.enqueueMany(Array.from({ length: n }, () => [0] as [number]));
        },
        close,
      });
    },
    async worker(location, concurrency, onTask) {
      const backend = configure(location);
      await backend.getOrm();
      hooks.onTask = onTask;
      // As `djtasks worker --concurrency N [--prefetch P] --no-startup-delay` runs it.
      const worker = new Worker({
        concurrency,
        prefetch: variant.prefetch,
        startupDelay: false,
        ...(variant.pollIntervalMs === undefined ? {} : { pollIntervalMs: variant.pollIntervalMs }),
      });
      return {
        start() {
          worker.start();
          return Promise.resolve();
        },
        async stop() {
          await worker.stop();
          await close();
        },
      };
    },
  };
}
