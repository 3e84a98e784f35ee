/** The three queues under comparison, behind one small interface. */
import pg from 'pg';
import { configureTasks, taskBackends } from '@djtasks/tasks';
import { Logger, makeWorkerUtils, run, type Runner, type WorkerUtils } from 'graphile-worker';
import { PgBoss } from 'pg-boss';
import { DatabaseBackend, migrate } from '../src/index.ts';
import { Worker } from '../src/worker.ts';
import { benchNoop, hooks } from './tasks.ts';

export interface BenchSystem {
  /** Enqueue one trivial task and wait for the insert. */
  enqueueOne(): Promise<void>;
  /** Enqueue `n` trivial tasks in bulk. */
  enqueueBulk(n: number): Promise<void>;
  /** Start a worker in this process; `onStart` runs when a task starts. Returns a stop function. */
  startWorker(concurrency: number, variant: string): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** SQL that counts the tasks not yet done. */
export const REMAINING: Record<string, string> = {
  djtasks: `select count(*) as n from djtasks_task_result where status in ('READY', 'RUNNING')`,
  graphile: `select count(*) as n from graphile_worker.jobs`,
  pgboss: `select count(*) as n from pgboss.job where name = 'bench' and state in ('created', 'retry', 'active')`,
};

export async function openSystem(name: string, url: string): Promise<BenchSystem> {
  switch (name) {
    case 'djtasks':
      return djtasks(url);
    case 'graphile':
      return graphile(url);
    case 'pgboss':
      return pgboss(url);
    default:
      throw new Error(`unknown system ${name}`);
  }
}

async function djtasks(database: string): Promise<BenchSystem> {
  configureTasks({
    backends: { default: { backend: DatabaseBackend, queues: [], options: { database } } },
  });
  const backend = taskBackends.get('default') as DatabaseBackend;
  await migrate((await backend.getOrm()).em);
  return {
    enqueueOne: async () => {
      await benchNoop.enqueue();
    },
    enqueueBulk: async (n) => {
      await benchNoop.enqueueMany(Array.from({ length: n }, () => [] as []));
    },
    startWorker: (concurrency, variant) => {
      // 'plain' is the default (no prefetch); 'prefetch=N' sets it.
      const prefetch = /^prefetch=(\d+)$/.exec(variant)?.[1];
      const worker = new Worker({
        concurrency,
        prefetch: prefetch === undefined ? undefined : Number(prefetch),
        startupDelay: false,
        pollIntervalMs: 1000,
      }).start();
      return Promise.resolve(async () => {
        await worker.stop();
      });
    },
    close: () => taskBackends.close(),
  };
}

async function graphile(connectionString: string): Promise<BenchSystem> {
  const logger = new Logger(() => () => {});
  const utils: WorkerUtils = await makeWorkerUtils({ connectionString, logger });
  await utils.migrate();
  return {
    enqueueOne: async () => {
      await utils.addJob('noop', {});
    },
    enqueueBulk: async (n) => {
      await utils.addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: {} })));
    },
    startWorker: async (concurrency, variant) => {
      const batched = variant === 'batched';
      const runner: Runner = await run({
        connectionString,
        concurrency,
        logger,
        noHandleSignals: true,
        pollInterval: 1000,
        taskList: {
          noop: () => {
            hooks.started?.();
          },
        },
        preset: batched
          ? {
              worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 },
            }
          : {},
      });
      return () => runner.stop();
    },
    close: async () => {
      await utils.release();
    },
  };
}

async function pgboss(connectionString: string): Promise<BenchSystem> {
  const boss = new PgBoss({
    connectionString,
    useListenNotify: process.env['BENCH_PGBOSS_NOTIFY'] !== '0',
    schedule: false,
  });
  boss.on('error', () => {});
  await boss.start();
  if (!(await boss.getQueue('bench'))) await boss.createQueue('bench', { notify: true });
  return {
    enqueueOne: async () => {
      await boss.send('bench', {});
    },
    enqueueBulk: async (n) => {
      for (let i = 0; i < n; i += 5000) {
        await boss.insert(
          'bench',
          Array.from({ length: Math.min(5000, n - i) }, () => ({ data: {} })),
        );
      }
    },
    startWorker: async (concurrency, variant) => {
      const batchSize = variant === 'batched' ? 50 : 1;
      await boss.work(
        'bench',
        {
          batchSize,
          localConcurrency: concurrency,
          pollingIntervalSeconds: 0.5,
          // pg-boss 12's own settings for a backlog: fetch continuously while there is one.
          burstWhenReadyExceeds: 1,
          burstWhenBatchFull: true,
        },
        (jobs: unknown[]) => {
          for (let i = 0; i < jobs.length; i++) hooks.started?.();
          return Promise.resolve();
        },
      );
      return () => boss.offWork('bench');
    },
    close: () => boss.stop({ graceful: false, wait: true } as never),
  };
}

/** Count what `sql` counts on a fresh connection. */
export async function countSql(url: string, sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(sql);
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}
