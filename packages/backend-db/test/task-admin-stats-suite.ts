// One suite run on SQLite and PostgreSQL around one set of known runs whose exact counts and
// percentiles are worked out by hand in the comments (hence past 300 lines).
import type { EntityManager } from '@mikro-orm/sql';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configureTasks, task, taskBackends } from '@djtasks/tasks';
import {
  DatabaseBackend,
  InvalidResultQuery,
  TASK_RESULT_TABLE,
  taskThroughput,
  taskTimings,
} from '../src/index.ts';
import { Worker } from '../src/worker.ts';
import { scratchDatabase, type ScratchDatabase, type TestDialect } from './helpers.ts';

const sleeps = task({ name: 'stats.sleeps' }, async (ms: number) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ms;
});

const MINUTE = 60_000;
/** "Now" of the known runs: the hour window is [11:01, 12:01). */
const NOW = Date.UTC(2026, 0, 1, 12, 0, 30);
const T0 = Date.UTC(2026, 0, 1, 11, 1, 0);
const UNTIL = T0 + 60 * MINUTE;

interface KnownRow {
  status: string;
  queue?: string;
  backend?: string;
  enqueued: number;
  runAfter?: number;
  started?: number;
  lastAttempted?: number;
  finished?: number;
}

/** The statistics of the task admin API (taskThroughput, taskTimings) on known runs. */
export function taskAdminStatsSuite(dialect: TestDialect): void {
  describe(`task admin statistics (${dialect})`, () => {
    let db: ScratchDatabase;
    let backend: DatabaseBackend;
    beforeAll(async () => {
      db = await scratchDatabase(dialect);
    });
    afterAll(async () => {
      await db.drop();
    });
    beforeEach(async () => {
      configureTasks({
        backends: {
          default: { backend: DatabaseBackend, queues: [], options: { database: db.url } },
        },
      });
      backend = taskBackends.get('default') as DatabaseBackend;
      await sql(`delete from ${TASK_RESULT_TABLE}`);
    });
    afterEach(async () => {
      await taskBackends.close();
      configureTasks();
    });

    async function sql(q: string, params: unknown[] = []) {
      const em = (await backend.getOrm()).em.fork() as unknown as EntityManager;
      return em.execute(q, params);
    }
    const at = (ms: number | undefined) =>
      ms === undefined ? null : dialect === 'sqlite' ? ms : new Date(ms);

    let serial = 0;
    async function insert(row: KnownRow): Promise<void> {
      serial += 1;
      await sql(
        `insert into ${TASK_RESULT_TABLE} (id, status, task_name, queue_name, backend_name, priority, args, ` +
          `available_at, enqueued_at, run_after, started_at, last_attempted_at, finished_at, attempts) ` +
          `values (?, ?, 'stats.known', ?, ?, 0, '[]', ?, ?, ?, ?, ?, ?, ?)`,
        [
          `known-${serial}`,
          row.status,
          row.queue ?? 'default',
          row.backend ?? 'default',
          at(row.runAfter ?? row.enqueued),
          at(row.enqueued),
          at(row.runAfter),
          at(row.started),
          at(row.lastAttempted ?? row.started),
          at(row.finished),
          row.started === undefined ? 0 : 1,
        ],
      );
    }

    /**
     * Known runs in the window [T0, T0 + 60 min), minute by minute:
     * - 0: one SUCCESSFUL enqueued, started and finished at T0 exactly (wait 0, run 0);
     * - 10: twenty SUCCESSFUL, the i-th waiting i × 100 ms and running i × 1000 ms;
     * - 20/21: one enqueued, then CANCELLED before it started;
     * - 30: three FAILED on queue mail, waiting 5, 6 and 7 s and running 10, 20 and 30 ms;
     * - 45: one RUNNING (wait 500 ms); 50: one READY again for a retry after an attempt (wait 300 ms);
     * - 55: one deferred (enqueued 30 min before the window, runAfter at 55 min) started 200 ms
     *   after its runAfter and run 50 ms; 59: one READY never started.
     * Outside: a SUCCESSFUL one two hours earlier, one at the window's end exactly, and one of
     * another backend.
     */
    async function knownRuns(): Promise<void> {
      const m = (minutes: number) => T0 + minutes * MINUTE;
      await insert({ status: 'SUCCESSFUL', enqueued: T0, started: T0, finished: T0 });
      for (let i = 1; i <= 20; i++) {
        const enqueued = m(10) + i * 1000;
        const started = enqueued + i * 100;
        await insert({ status: 'SUCCESSFUL', enqueued, started, finished: started + i * 1000 });
      }
      await insert({ status: 'CANCELLED', enqueued: m(20), finished: m(21) });
      for (let j = 1; j <= 3; j++) {
        const enqueued = m(30) + j * 1000;
        const started = enqueued + 4000 + j * 1000;
        await insert({
          status: 'FAILED',
          queue: 'mail',
          enqueued,
          started,
          finished: started + j * 10,
        });
      }
      await insert({ status: 'RUNNING', enqueued: m(45), started: m(45) + 500 });
      await insert({ status: 'READY', enqueued: m(50), started: m(50) + 300 });
      await insert({
        status: 'SUCCESSFUL',
        enqueued: m(-30),
        runAfter: m(55),
        started: m(55) + 200,
        finished: m(55) + 250,
      });
      await insert({ status: 'READY', enqueued: m(59) + 59_000 });
      await insert({
        status: 'SUCCESSFUL',
        enqueued: m(-120),
        started: m(-120),
        finished: m(-119),
      });
      await insert({ status: 'SUCCESSFUL', enqueued: UNTIL, started: UNTIL, finished: UNTIL });
      await insert({
        status: 'SUCCESSFUL',
        backend: 'other',
        enqueued: m(5),
        started: m(5),
        finished: m(5),
      });
    }

    it('counts enqueued, started and finished per minute, per queue, over the last hour', async () => {
      await knownRuns();
      const t = await taskThroughput(backend, { minutes: 60, now: new Date(NOW) });
      expect(t.since).toEqual(new Date(T0));
      expect(t.until).toEqual(new Date(UNTIL));
      expect(t.bucketMinutes).toBe(1);
      expect(t.total).toHaveLength(60);
      expect(t.total[0]!.start).toEqual(new Date(T0));
      const nonEmpty = t.total
        .map((b, i) => [i, b.enqueued, b.started, b.successful, b.failed, b.cancelled])
        .filter(([, ...counts]) => counts.some((n) => n !== 0));
      expect(nonEmpty).toEqual([
        [0, 1, 1, 1, 0, 0],
        [10, 20, 20, 20, 0, 0],
        [20, 1, 0, 0, 0, 0],
        [21, 0, 0, 0, 0, 1],
        [30, 3, 3, 0, 3, 0],
        [45, 1, 1, 0, 0, 0],
        [50, 1, 1, 0, 0, 0],
        [55, 0, 1, 1, 0, 0],
        [59, 1, 0, 0, 0, 0],
      ]);
      expect(t.byQueue.map((q) => q.queue)).toEqual(['default', 'mail']);
      const mail = t.byQueue[1]!.buckets;
      expect(mail[30]).toEqual({
        start: new Date(T0 + 30 * MINUTE),
        enqueued: 3,
        started: 3,
        successful: 0,
        failed: 3,
        cancelled: 0,
      });
      expect(mail.reduce((n, b) => n + b.enqueued + b.started + b.failed, 0)).toBe(9);
      expect(t.byQueue[0]!.buckets[10]!.successful).toBe(20);
    });

    it('counts over the last day in half-hour buckets', async () => {
      await knownRuns();
      const t = await taskThroughput(backend, {
        minutes: 1440,
        bucketMinutes: 30,
        now: new Date(NOW),
      });
      // The day ends with the half hour holding 12:00:30.
      expect(t.until).toEqual(new Date(Date.UTC(2026, 0, 1, 12, 30)));
      expect(t.total).toHaveLength(48);
      const sum = (field: 'enqueued' | 'started' | 'successful' | 'failed' | 'cancelled') =>
        t.total.reduce((n, b) => n + b[field], 0);
      // The hour's rows, plus the one two hours earlier, the one at 12:01 and the deferred
      // one's enqueue at 10:31 (all three inside the day).
      expect([sum('enqueued'), sum('started'), sum('successful')]).toEqual([31, 29, 24]);
      expect([sum('failed'), sum('cancelled')]).toEqual([3, 1]);
      // 11:00-11:30 holds minutes 0 to 28 of the hour window: 1 + 20 + 1 enqueued, 21 successful.
      const eleven = t.total.find((b) => b.start.getTime() === Date.UTC(2026, 0, 1, 11))!;
      expect([eleven.enqueued, eleven.successful, eleven.cancelled]).toEqual([22, 21, 1]);
      // taskTimings with the same options has the same window: its waits are of the 29 started.
      const timings = await taskTimings(backend, {
        minutes: 1440,
        bucketMinutes: 30,
        now: new Date(NOW),
      });
      expect([timings.since, timings.until]).toEqual([t.since, t.until]);
      expect(timings.queues[0]!.wait.count).toBe(29);
    });

    it('reports wait- and run-time percentiles (nearest rank) per queue and for all', async () => {
      await knownRuns();
      const t = await taskTimings(backend, { minutes: 60, now: new Date(NOW) });
      expect(t.queues.map((q) => q.queue)).toEqual([null, 'default', 'mail']);
      const [all, def, mail] = t.queues;
      // default waits (24): 0, 100, 200, 200, 300, 300, 400, 500, 500, 600 ... 2000
      expect(def!.wait).toEqual({ count: 24, p50: 800, p95: 1900, p99: 2000 });
      // default runs (22): 0, 50, 1000 ... 20000 (RUNNING, READY and CANCELLED left out)
      expect(def!.run).toEqual({ count: 22, p50: 9000, p95: 19000, p99: 20000 });
      expect(mail!.wait).toEqual({ count: 3, p50: 6000, p95: 7000, p99: 7000 });
      expect(mail!.run).toEqual({ count: 3, p50: 20, p95: 30, p99: 30 });
      expect(all!.wait).toEqual({ count: 27, p50: 1000, p95: 6000, p99: 7000 });
      expect(all!.run).toEqual({ count: 25, p50: 8000, p95: 19000, p99: 20000 });
    });

    it('agrees on the ranks where p × n is a whole number (n = 100 and 200)', async () => {
      for (let i = 1; i <= 300; i++) {
        // queue a: runs of 1..100 ms; queue b: 1..200 ms (all: 300 runs).
        const [queue, ms] = i <= 100 ? ['a', i] : ['b', i - 100];
        const started = T0 + i * 1000;
        await insert({
          status: 'SUCCESSFUL',
          queue,
          enqueued: started,
          started,
          finished: started + ms,
        });
      }
      const t = await taskTimings(backend, { minutes: 60, now: new Date(NOW) });
      const run = Object.fromEntries(t.queues.map((q) => [q.queue ?? 'all', q.run]));
      expect(run['a']).toEqual({ count: 100, p50: 50, p95: 95, p99: 99 });
      expect(run['b']).toEqual({ count: 200, p50: 100, p95: 190, p99: 198 });
      // all 300 sorted: 1,1,2,2,...,100,100,101..200; rank 150 = 75, rank 285 = 185, rank 297 = 197.
      expect(run['all']).toEqual({ count: 300, p50: 75, p95: 185, p99: 197 });
    });

    it('reports an empty window as zero counts and null percentiles', async () => {
      const t = await taskTimings(backend, { minutes: 5 });
      expect(t.queues).toEqual([
        {
          queue: null,
          wait: { count: 0, p50: null, p95: null, p99: null },
          run: { count: 0, p50: null, p95: null, p99: null },
        },
      ]);
      const th = await taskThroughput(backend, { minutes: 5 });
      expect(th.total).toHaveLength(5);
      expect(th.byQueue).toEqual([]);
    });

    it('refuses a bad window with InvalidResultQuery naming the option', async () => {
      await expect(taskThroughput(backend, { minutes: 0 })).rejects.toMatchObject({
        name: 'InvalidResultQuery',
        option: 'minutes',
      });
      await expect(
        taskThroughput(backend, { minutes: 60, bucketMinutes: 7 }),
      ).rejects.toBeInstanceOf(InvalidResultQuery);
      await expect(taskTimings(backend, { now: new Date(Number.NaN) })).rejects.toMatchObject({
        option: 'now',
      });
    });

    it('counts what a real worker ran', async () => {
      const results = await Promise.all([
        sleeps.enqueue(20),
        sleeps.enqueue(40),
        sleeps.enqueue(60),
      ]);
      const summary = await new Worker({
        backend,
        queues: '*',
        batch: true,
        workerId: 'stats-worker',
        startupDelay: false,
        pollIntervalMs: 50,
      }).run();
      expect(summary.claimed).toBe(3);
      const th = await taskThroughput(backend, { minutes: 10 });
      const sum = (field: 'enqueued' | 'started' | 'successful') =>
        th.total.reduce((n, b) => n + b[field], 0);
      expect([sum('enqueued'), sum('started'), sum('successful')]).toEqual([3, 3, 3]);
      const t = await taskTimings(backend, { minutes: 10 });
      expect(t.queues[0]!.run.count).toBe(3);
      // The slowest slept 60 ms, so p99 of the run time is at least that.
      expect(t.queues[0]!.run.p99).toBeGreaterThanOrEqual(60);
      expect(results).toHaveLength(3);
    });
  });
}
