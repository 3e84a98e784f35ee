import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseSync } from 'node:sqlite';
import type { MikroORM } from '@mikro-orm/core';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { EntityManager } from '@mikro-orm/sql';
import {
  configureTasks,
  taskBackends,
  TaskResultDoesNotExist,
  TaskResultStatus,
} from '@djtasks/tasks';
import { addNumbers, FIXTURES_MODULE, noop } from '@djtasks/tasks/testing/fixtures';
import {
  DatabaseBackend,
  enqueueThrough,
  migrate,
  openDatabase,
  prune,
  status,
  TASK_RESULT_TABLE,
} from '../src/index.ts';
import { Worker } from '../src/worker.ts';
import { main } from '../src/cli.ts';
import { scratchDatabase, type ScratchDatabase, type TestDialect } from './helpers.ts';
import {
  closeGate,
  gated,
  gatedStarted,
  inQa,
  inQb,
  inQc,
  low,
  openGated,
  started,
} from './fixtures/order.ts';

/** In-process tests of the backend and worker against a real database. */
export function backendSuite(dialect: TestDialect): void {
  describe(`DatabaseBackend in process (${dialect})`, () => {
    let db: ScratchDatabase;
    let appOrm: MikroORM;

    beforeAll(async () => {
      db = await scratchDatabase(dialect);
      appOrm = await openDatabase(db.url);
    });
    afterAll(async () => {
      await appOrm?.close();
      await db?.drop();
    });
    beforeEach(async () => {
      // The app's own ORM, shared with the backend: enqueues join its transactions.
      configureTasks({
        backends: { default: { backend: DatabaseBackend, queues: [], options: { orm: appOrm } } },
        taskModules: [FIXTURES_MODULE],
      });
      await em().execute(`delete from ${TASK_RESULT_TABLE}`, [], 'run');
    });
    afterEach(async () => {
      await taskBackends.close();
      configureTasks();
    });

    const em = () => appOrm.em.fork() as unknown as EntityManager;
    const backend = () => taskBackends.get('default') as DatabaseBackend;
    /** Count rows as another connection sees them (outside the ORM and any transaction). */
    async function committedCount(): Promise<number> {
      if (dialect === 'sqlite') {
        // WAL readers never wait for the writer, so a synchronous read cannot block here.
        const reader = new DatabaseSync(db.url, { readOnly: true });
        try {
          return Number(
            (
              reader.prepare(`select count(*) as n from ${TASK_RESULT_TABLE}`).get() as {
                n: number;
              }
            ).n,
          );
        } finally {
          reader.close();
        }
      }
      if (dialect === 'mariadb') {
        const connection = await mysql.createConnection({
          uri: db.url.replace(/^mariadb:/, 'mysql:'),
        });
        try {
          const [rows] = await connection.query(`select count(*) as n from ${TASK_RESULT_TABLE}`);
          return Number((rows as { n: unknown }[])[0]!.n);
        } finally {
          await connection.end();
        }
      }
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: string }>(
          `select count(*) as n from ${TASK_RESULT_TABLE}`,
        );
        return Number(rows[0]!.n);
      } finally {
        await client.end();
      }
    }

    it('is a no-op for migrate when the schema is current', async () => {
      expect(await migrate(em())).toEqual([]);
    });

    it("joins the app's transaction: invisible to others until commit", async () => {
      const result = await appOrm.em.transactional(async () => {
        const enqueued = await noop.enqueue();
        expect(await committedCount()).toBe(0);
        return enqueued;
      });
      expect(await committedCount()).toBe(1);
      expect((await noop.getResult(result.id)).status).toBe(TaskResultStatus.READY);
    });

    it("joins the app's transaction: gone on rollback", async () => {
      let id = '';
      await expect(
        appOrm.em.transactional(async () => {
          id = (await noop.enqueue()).id;
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await committedCount()).toBe(0);
      await expect(noop.getResult(id)).rejects.toThrow(TaskResultDoesNotExist);
    });

    it('enqueues through an explicit EntityManager with enqueueThrough', async () => {
      const fork = em();
      await fork.begin();
      await enqueueThrough(fork, () => noop.enqueueMany([[], []]));
      expect(await committedCount()).toBe(0);
      await fork.rollback();
      expect(await committedCount()).toBe(0);
    });

    it('fails rows it cannot run (unknown task, unparsable arguments) and goes on', async () => {
      const now = dialect === 'sqlite' ? Date.now() : new Date();
      const insert = `insert into ${TASK_RESULT_TABLE} (id, status, task_name, queue_name, backend_name, priority, args, available_at, enqueued_at) values (?, 'READY', ?, 'default', 'default', 0, ?, ?, ?)`;
      await em().execute(insert, ['bad-task', 'no.such.task', '[]', now, now], 'run');
      await em().execute(insert, ['bad-args', addNumbers.name, '{not json', now, now], 'run');
      const good = await addNumbers.enqueue(1, 2);
      const summary = await new Worker({ batch: true, startupDelay: false }).run();
      expect(summary.claimed).toBe(3);
      await good.refresh();
      expect(good.returnValue).toEqual({ a: 1, b: 2, sum: 3 });
      const rows = await em().execute<{ id: string; status: string; errors: string }[]>(
        `select id, status, errors from ${TASK_RESULT_TABLE} where id in ('bad-task', 'bad-args') order by id`,
      );
      expect(rows.map((r) => r.status)).toEqual(['FAILED', 'FAILED']);
      const [badArgs, badTask] = rows.map((r) => JSON.parse(r.errors) as { message: string }[]);
      expect(badArgs![0]!.message).toContain('column args is not valid JSON');
      expect(badTask![0]!.message).toContain(
        "column task_name names the task 'no.such.task', which is not defined here",
      );
      expect(badTask![0]!.message).toContain(FIXTURES_MODULE);
    });

    it('prunes only finished results older than the limit, and reports status', async () => {
      const done = await addNumbers.enqueue(1, 1);
      await new Worker({ batch: true, startupDelay: false }).run();
      await noop.enqueue();
      await done.refresh();
      expect(done.status).toBe(TaskResultStatus.SUCCESSFUL);
      expect(await prune(backend(), { minAgeDays: 1 })).toBe(0);
      expect(await prune(backend(), { minAgeDays: 0, dryRun: true })).toBe(1);
      const report = await status(backend());
      expect(report.counts).toEqual([
        { queue: 'default', status: 'READY', count: 1 },
        { queue: 'default', status: 'SUCCESSFUL', count: 1 },
      ]);
      expect(report.oldestReadyAt).toBeInstanceOf(Date);
      expect(await prune(backend(), { minAgeDays: 0 })).toBe(1);
      expect(await committedCount()).toBe(1);
    });

    it('wakes an in-process worker on enqueue', async () => {
      // A long poll interval: only the in-process wake-up can start the task soon.
      const worker = new Worker({ startupDelay: false, pollIntervalMs: 3_600_000 }).start();
      try {
        const result = await addNumbers.enqueue(2, 2);
        for (let i = 0; i < 200 && !result.isFinished; i++) {
          await new Promise((resolve) => setTimeout(resolve, 25));
          await result.refresh();
        }
        expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
      } finally {
        await worker.stop();
      }
    });

    it('puts prefetched, unstarted tasks back to READY on stop, without counting an attempt', async () => {
      closeGate();
      started.length = 0;
      const running = await gated.enqueue();
      const queued = await low.enqueueMany([['a'], ['b'], ['c']]);
      const worker = new Worker({ concurrency: 1, prefetch: 3, startupDelay: false }).start();
      await gatedStarted;
      const stopped = worker.stop();
      openGated();
      const summary = await stopped;
      expect(summary).toMatchObject({ claimed: 4, successful: 1, released: 3 });
      await running.refresh();
      expect(running.status).toBe(TaskResultStatus.SUCCESSFUL);
      for (const result of queued) {
        await result.refresh();
        expect(result.status).toBe(TaskResultStatus.READY);
        expect(result.attempts).toBe(0);
        expect(result.workerIds).toEqual([]);
        expect(result.startedAt).toBeNull();
        expect(result.lastAttemptedAt).toBeNull();
      }
      expect(started).toEqual(['gated']);
      const leased = await em().execute<{ n: unknown }[]>(
        `select count(*) as n from ${TASK_RESULT_TABLE} where lease_owner is not null`,
      );
      expect(Number(leased[0]!.n)).toBe(0);
      // Another worker runs them as first attempts.
      await new Worker({ batch: true, startupDelay: false }).run();
      for (const result of queued) {
        await result.refresh();
        expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
        expect(result.attempts).toBe(1);
        expect(result.workerIds).toHaveLength(1);
      }
    });

    it('starts a higher-priority task enqueued while a prefetched batch is held before any task claimed after it', async () => {
      started.length = 0;
      // low-0 enqueues `high` while the worker holds low-0 … low-4 (concurrency 1 + prefetch 4).
      await low.enqueueMany(Array.from({ length: 20 }, (_, i) => [`low-${i}`] as [string]));
      await new Worker({ concurrency: 1, prefetch: 4, batch: true, startupDelay: false }).run();
      expect(started).toHaveLength(21);
      // At worst after the five rows claimed before it existed; never after low-5 … low-19.
      expect(started.indexOf('high')).toBeLessThanOrEqual(5);
      expect(started.filter((label) => label !== 'high')).toEqual(
        Array.from({ length: 20 }, (_, i) => `low-${i}`),
      );
    });

    it('claims from several queues in priority order across them, and from all queues but the excluded ones', async () => {
      started.length = 0;
      await inQa.enqueueMany([['a1'], ['a2']]);
      await inQb.enqueue('b1');
      await inQc.enqueue('c1');
      // One place at a time: each claim must take the best row of both queues.
      const options = { concurrency: 1, batch: true, startupDelay: false } as const;
      await new Worker({ ...options, queues: ['qa', 'qb'] }).run();
      expect(started.splice(0)).toEqual(['b1', 'a1', 'a2']);
      const left = await inQa.enqueue('a3');
      await new Worker({ ...options, queues: '*', excludeQueues: ['qa'] }).run();
      expect(started.splice(0)).toEqual(['c1']);
      await left.refresh();
      expect(left.status).toBe(TaskResultStatus.READY);
    });

    it('rejects bad worker and CLI options with messages naming them', async () => {
      expect(() => new Worker({ concurrency: 0 })).toThrow(
        'concurrency must be a positive number (got 0)',
      );
      expect(() => new Worker({ queues: ['a'], excludeQueues: ['b'] })).toThrow(
        "excludeQueues can only be used with queues: '*'",
      );
      expect(() => new Worker({ prefetch: -1 })).toThrow('prefetch must be a whole number');
      expect(() => new Worker({ workerId: 'x'.repeat(65) })).toThrow(
        'workerId must be 1 to 64 characters',
      );
      expect(await main(['--config', '/nonexistent/djtasks.config.ts', 'worker'])).toBe(2);
      expect(await main(['frobnicate'])).toBe(2);
      for (const command of ['worker', 'migrate', 'prune', 'status']) {
        expect(await main([command, '--help'])).toBe(0);
      }
    });
  });
}
