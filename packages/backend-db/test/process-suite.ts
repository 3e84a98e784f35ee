import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EntityManager } from '@mikro-orm/sql';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { configureTasks, taskBackends, TaskResultStatus } from '@djtasks/tasks';
import { DatabaseBackend, TASK_RESULT_TABLE } from '../src/index.ts';
import {
  blocksEventLoop,
  countRun,
  hangs,
  hangsFirstTime,
  sleepsThenReturns,
  waitsForAbort,
} from './fixtures/tasks.ts';
import { createRunsTable, RUNS_TABLE } from './fixtures/side-table.ts';
import { scratchDatabase, type ScratchDatabase, type TestDialect } from './helpers.ts';
import { killWorkerProcesses, startWorkerProcess, waitUntil } from './processes.ts';

/** The tests that run real `djtasks worker` processes against a real database. */
export function processSuite(
  dialect: TestDialect,
  options: { workers: number; tasks: number },
): void {
  describe(`worker processes (${dialect})`, () => {
    let db: ScratchDatabase;

    beforeAll(async () => {
      db = await scratchDatabase(dialect);
      await createRunsTable(db.url);
    });
    afterAll(async () => {
      await db?.drop();
    });
    beforeEach(async () => {
      configureTasks({
        backends: {
          default: { backend: DatabaseBackend, queues: [], options: { database: db.url } },
        },
      });
      await sql(`delete from ${TASK_RESULT_TABLE}`);
      await sql(`delete from ${RUNS_TABLE}`);
    });
    afterEach(async () => {
      await killWorkerProcesses();
      await taskBackends.close();
      configureTasks();
    });

    async function sql<T = Record<string, unknown>>(
      query: string,
      params: unknown[] = [],
    ): Promise<T[]> {
      const backend = taskBackends.get('default') as DatabaseBackend;
      const em = (await backend.getOrm()).em.fork() as unknown as EntityManager;
      return em.execute<T[]>(query, params);
    }
    const count = async (query: string, params: unknown[] = []) =>
      Number(Object.values((await sql(query, params))[0] ?? {})[0] ?? 0);
    const statuses = async () =>
      sql<{ id: string; status: string; attempts: number; errors: string }>(
        `select id, status, attempts, errors from ${TASK_RESULT_TABLE} order by id`,
      );

    it(`runs every task exactly once with ${options.workers} worker processes draining ${options.tasks} tasks`, async () => {
      await countRun.enqueueMany(Array.from({ length: options.tasks }, () => [] as []));
      const workers = Array.from({ length: options.workers }, (_, i) =>
        startWorkerProcess(db.url, ['--batch', '--concurrency', '8', '--worker-id', `batch-${i}`]),
      );
      const exits = await Promise.all(workers.map((w) => w.exited));
      for (const [i, exit] of exits.entries())
        expect(exit, workers[i]!.output()).toEqual({ code: 0, signal: null });
      expect(
        await count(
          `select count(*) from ${TASK_RESULT_TABLE} where status = 'SUCCESSFUL' and attempts = 1`,
        ),
      ).toBe(options.tasks);
      expect(await count(`select count(*) from ${RUNS_TABLE}`)).toBe(options.tasks);
      expect(await count(`select count(distinct task_id) from ${RUNS_TABLE}`)).toBe(options.tasks);
    });

    it('takes back the tasks of a worker killed with SIGKILL, recording the lost attempt', async () => {
      const retried = await hangsFirstTime.enqueueMany([[], [], []]);
      const lost = await hangs.enqueue();
      const first = startWorkerProcess(db.url, [
        '--concurrency',
        '8',
        '--lease',
        '1',
        '--worker-id',
        'doomed',
      ]);
      await waitUntil(
        'the first worker runs all four tasks',
        async () => (await count(`select count(*) from ${RUNS_TABLE}`)) === 4,
      );
      first.child.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      const second = startWorkerProcess(db.url, [
        '--concurrency',
        '8',
        '--lease',
        '1',
        '--worker-id',
        'rescuer',
      ]);
      await waitUntil(
        'every task is finished',
        async () =>
          (await count(
            `select count(*) from ${TASK_RESULT_TABLE} where status in ('SUCCESSFUL', 'FAILED')`,
          )) === 4,
      );
      second.child.kill('SIGTERM');
      expect(await second.exited, second.output()).toEqual({ code: 0, signal: null });
      for (const result of retried) {
        await result.refresh();
        expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
        expect(result.returnValue).toBe(2);
        expect(result.workerIds).toEqual(['doomed', 'rescuer']);
        expect(result.errors).toHaveLength(1);
        expect(result.errors[0]!.exceptionClassPath).toBe('WorkerLost');
        expect(result.errors[0]!.message).toContain('worker doomed stopped renewing its lease');
      }
      await lost.refresh();
      expect(lost.status).toBe(TaskResultStatus.FAILED);
      expect(lost.errors.map((e) => e.exceptionClassPath)).toEqual(['WorkerLost']);
      expect(
        await count(`select count(*) from ${TASK_RESULT_TABLE} where status = 'RUNNING'`),
      ).toBe(0);
      expect(await count(`select count(*) from ${RUNS_TABLE}`)).toBe(7);
    });

    it('never runs a task twice while its worker blocks the event loop longer than the lease', async () => {
      const results = await blocksEventLoop.enqueueMany([[3000], [3000]]);
      const blocker = startWorkerProcess(db.url, [
        '--concurrency',
        '2',
        '--lease',
        '1.2',
        '--worker-id',
        'blocker',
      ]);
      await waitUntil(
        'the first worker starts a blocking task',
        async () => (await count(`select count(*) from ${RUNS_TABLE}`)) >= 1,
      );
      // A second worker looks for expired leases every 0.6 s while the first one is blocked.
      const watcher = startWorkerProcess(db.url, [
        '--concurrency',
        '2',
        '--lease',
        '1.2',
        '--worker-id',
        'watcher',
      ]);
      await waitUntil(
        'both tasks are finished',
        async () =>
          (await count(`select count(*) from ${TASK_RESULT_TABLE} where status = 'SUCCESSFUL'`)) ===
          2,
      );
      blocker.child.kill('SIGTERM');
      watcher.child.kill('SIGTERM');
      expect((await blocker.exited).code, blocker.output()).toBe(0);
      expect((await watcher.exited).code, watcher.output()).toBe(0);
      for (const result of results) {
        await result.refresh();
        expect(result.attempts).toBe(1);
        expect(result.errors).toEqual([]);
      }
      expect(await count(`select count(*) from ${RUNS_TABLE}`)).toBe(2);
    });

    it('on the first SIGTERM stops claiming, finishes running tasks and exits 0', async () => {
      const running = await sleepsThenReturns.enqueue(800);
      const waiting = await sleepsThenReturns.enqueue(1);
      const worker = startWorkerProcess(db.url, ['--concurrency', '1', '--worker-id', 'graceful']);
      await waitUntil(
        'the first task runs',
        async () => (await count(`select count(*) from ${RUNS_TABLE}`)) === 1,
      );
      worker.child.kill('SIGTERM');
      expect(await worker.exited, worker.output()).toEqual({ code: 0, signal: null });
      await running.refresh();
      await waiting.refresh();
      expect(running.status).toBe(TaskResultStatus.SUCCESSFUL);
      expect(waiting.status).toBe(TaskResultStatus.READY);
      expect(worker.output()).toContain('shutting down gracefully');
    });

    it('on a second SIGTERM aborts running tasks, records them FAILED and exits 1', async () => {
      const result = await waitsForAbort.enqueue();
      const worker = startWorkerProcess(db.url, ['--concurrency', '1', '--worker-id', 'forced']);
      await waitUntil(
        'the task runs',
        async () => (await count(`select count(*) from ${RUNS_TABLE}`)) === 1,
      );
      worker.child.kill('SIGTERM');
      await waitUntil('the worker acknowledges the first signal', () =>
        Promise.resolve(worker.output().includes('shutting down gracefully')),
      );
      worker.child.kill('SIGTERM');
      expect(await worker.exited, worker.output()).toEqual({ code: 1, signal: null });
      await result.refresh();
      expect(result.status).toBe(TaskResultStatus.FAILED);
      expect(result.errors[0]!.message).toBe('aborted by the worker');
      expect(await statuses()).toHaveLength(1);
    });

    it.runIf(dialect !== 'sqlite')(
      'loses nothing and runs nothing twice when its database connections are cut mid-run',
      async () => {
        const total = 300;
        await sleepsThenReturns.enqueueMany(Array.from({ length: total }, () => [10] as [number]));
        // MariaDB: a claim whose COMMIT the server ran but whose reply the cut lost holds its
        // rows until their lease runs out (the worker never learnt their tokens); a shorter
        // lease brings them back within the wait.
        const lease = dialect === 'mariadb' ? ['--lease', '10'] : [];
        const worker = startWorkerProcess(db.url, [
          '--concurrency',
          '10',
          '--worker-id',
          'cut',
          ...lease,
        ]);
        const done = () =>
          count(`select count(*) from ${TASK_RESULT_TABLE} where status = 'SUCCESSFUL'`);
        await waitUntil('a first part of the tasks is done', async () => (await done()) >= 30);
        await taskBackends.close(); // the test's own connections reopen afterwards
        if (dialect === 'mariadb') {
          // Every connection of the worker (queries, heartbeat); the side table's pool opens
          // no default database, so it is not among them.
          const admin = await mysql.createConnection({
            uri: db.url.replace(/^mariadb:/, 'mysql:'),
          });
          try {
            const [rows] = await admin.query(
              `select id from information_schema.processlist where db = database() and id <> connection_id()`,
            );
            const ids = (rows as { id: number }[]).map((row) => row.id);
            expect(ids.length).toBeGreaterThan(0);
            for (const id of ids)
              await admin.query(`kill connection ${Number(id)}`).catch(() => {});
          } finally {
            await admin.end();
          }
        } else {
          const admin = new pg.Client({
            connectionString: db.url,
            application_name: 'djtasks-test-admin',
          });
          await admin.connect();
          try {
            // Every connection of the worker (queries, heartbeat, LISTEN), not the side table's.
            const { rowCount } = await admin.query(
              `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() ` +
                `and pid <> pg_backend_pid() and application_name not in ('djtasks-test-side', 'djtasks-test-admin')`,
            );
            expect(rowCount).toBeGreaterThan(0);
          } finally {
            await admin.end();
          }
        }
        await waitUntil('every task is done', async () => (await done()) === total, 60_000).catch(
          (error: unknown) => {
            throw new Error(`${(error as Error).message}\n${worker.output()}`);
          },
        );
        worker.child.kill('SIGTERM');
        expect(await worker.exited, worker.output()).toEqual({ code: 0, signal: null });
        if (dialect === 'mariadb') {
          // A lost claim reply costs its rows an attempt that never started (WorkerLost), never a
          // second run (checked on the side table below).
          const retried = await sql<{ errors: string }>(
            `select errors from ${TASK_RESULT_TABLE} where attempts <> 1`,
          );
          for (const row of retried) {
            const errors = JSON.parse(row.errors) as { exceptionClassPath: string }[];
            expect(errors.map((e) => e.exceptionClassPath)).toEqual(errors.map(() => 'WorkerLost'));
          }
        } else {
          expect(await count(`select count(*) from ${TASK_RESULT_TABLE} where attempts <> 1`)).toBe(
            0,
          );
        }
        expect(await count(`select count(*) from ${RUNS_TABLE}`)).toBe(total);
        expect(await count(`select count(distinct task_id) from ${RUNS_TABLE}`)).toBe(total);
      },
    );
  });
}
