// One suite run on SQLite and PostgreSQL with one shared fixture: every filter, pagination,
// retry, cancel and delete of the task admin API (hence past 300 lines).
import type { EntityManager } from '@mikro-orm/sql';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  configureTasks,
  task,
  TaskAlreadyFinished,
  taskBackends,
  TaskResultDoesNotExist,
  TaskResultStatus,
} from '@djtasks/tasks';
import {
  cancelResult,
  countsByQueueAndStatus,
  DatabaseBackend,
  deleteResult,
  getResultDetail,
  InvalidResultQuery,
  listResults,
  listScheduleResults,
  listWorkers,
  retryResult,
  TASK_RESULT_TABLE,
  TaskNotRetryable,
  TaskStillRunning,
  WORKER_TABLE,
  type ListResultsOptions,
} from '../src/index.ts';
import { Worker } from '../src/worker.ts';
import { scratchDatabase, type ScratchDatabase, type TestDialect } from './helpers.ts';

let failNext = true;
const adds = task({ name: 'admin.adds' }, (a: number, b: number) => a + b);
const failsOnce = task({ name: 'admin.failsOnce', queueName: 'mail' }, (to: string) => {
  if (failNext) throw new Error(`SMTP quota exceeded for ${to} (100%_done)`);
  return `sent to ${to}`;
});

/** The task admin API (listResults, getResultDetail, counts, workers, retry, cancel, delete). */
export function taskAdminSuite(dialect: TestDialect): void {
  describe(`task admin API (${dialect})`, () => {
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
          default: {
            backend: DatabaseBackend,
            queues: ['default', 'mail'],
            options: { database: db.url },
          },
        },
      });
      backend = taskBackends.get('default') as DatabaseBackend;
      await sql(`delete from ${TASK_RESULT_TABLE}`);
      await sql(`delete from ${WORKER_TABLE}`);
      failNext = true;
    });
    afterEach(async () => {
      await taskBackends.close();
      configureTasks();
    });

    async function sql<T = Record<string, unknown>>(q: string, params: unknown[] = []) {
      const em = (await backend.getOrm()).em.fork() as unknown as EntityManager;
      return em.execute<T[]>(q, params);
    }
    const at = (ms: number) => (dialect === 'sqlite' ? ms : new Date(ms));

    async function runAll(workerId: string, count: number): Promise<void> {
      const summary = await new Worker({
        backend,
        queues: '*',
        batch: true,
        workerId,
        startupDelay: false,
        pollIntervalMs: 50,
      }).run();
      expect(summary.claimed).toBe(count);
    }

    /** Two SUCCESSFUL adds (worker w-a), one FAILED mail (w-b), one READY add. */
    async function fixture() {
      const ok1 = await adds.enqueue(1, 2);
      const ok2 = await adds.enqueue(3, 4);
      await runAll('w-a', 2);
      const failed = await failsOnce.enqueue('ann@example.com');
      await runAll('w-b', 1);
      const ready = await adds.enqueue(5, 6);
      // Distinct enqueue times, oldest first, so the order is known.
      const base = Date.UTC(2026, 0, 1);
      for (const [i, r] of [ok1, ok2, failed, ready].entries()) {
        await sql(`update ${TASK_RESULT_TABLE} set enqueued_at = ? where id = ?`, [
          at(base + i * 60_000),
          r.id,
        ]);
      }
      return { ok1, ok2, failed, ready, base };
    }

    const ids = async (options: ListResultsOptions) =>
      (await listResults(backend, options)).results.map((r) => r.id);

    it('lists newest first, filters by each field, and reads a failed attempt with its traceback', async () => {
      const { ok1, ok2, failed, ready, base } = await fixture();
      expect(await ids({})).toEqual([ready.id, failed.id, ok2.id, ok1.id]);
      expect(await ids({ status: TaskResultStatus.SUCCESSFUL })).toEqual([ok2.id, ok1.id]);
      expect(await ids({ status: [TaskResultStatus.FAILED, TaskResultStatus.READY] })).toEqual([
        ready.id,
        failed.id,
      ]);
      expect(await ids({ queue: 'mail' })).toEqual([failed.id]);
      expect(await ids({ taskName: 'admin.adds' })).toEqual([ready.id, ok2.id, ok1.id]);
      expect(await ids({ workerId: 'w-b' })).toEqual([failed.id]);
      expect(await ids({ workerId: 'w-' })).toEqual([]);
      expect(await ids({ enqueuedAfter: new Date(base + 60_000) })).toEqual([
        ready.id,
        failed.id,
        ok2.id,
      ]);
      expect(await ids({ enqueuedBefore: new Date(base + 60_000) })).toEqual([ok1.id]);
      expect(await ids({ finishedAfter: new Date(Date.now() + 60_000) })).toEqual([]);
      expect(await ids({ finishedBefore: new Date(Date.now() + 60_000) })).toEqual([
        failed.id,
        ok2.id,
        ok1.id,
      ]);
      // Text in an error: any case, with LIKE's wildcards taken literally.
      expect(await ids({ errorText: 'smtp QUOTA' })).toEqual([failed.id]);
      expect(await ids({ errorText: '100%_done' })).toEqual([failed.id]);
      expect(await ids({ errorText: '100%%done' })).toEqual([]);
      expect(await ids({ status: 'SUCCESSFUL', queue: 'mail' })).toEqual([]);

      const [summary] = (await listResults(backend, { queue: 'mail' })).results;
      expect(summary).toMatchObject({
        status: TaskResultStatus.FAILED,
        attempts: 1,
        workerIds: ['w-b'],
        lastError: { exceptionClassPath: 'Error' },
      });
      expect(summary!.lastError!.message).toContain('SMTP quota exceeded for ann@example.com');

      const detail = await getResultDetail(backend, failed.id);
      expect(detail.args).toEqual(['ann@example.com']);
      expect(detail.errors).toHaveLength(1);
      expect(detail.errors[0]!.traceback).toContain('SMTP quota exceeded');
      expect(detail.errors[0]!.traceback).toMatch(/task-admin-suite\.ts/);
      expect(detail.attemptList).toEqual([{ number: 1, workerId: 'w-b', running: false }]);
      expect((await getResultDetail(backend, ok2.id)).returnValue).toBe(7);
      await expect(getResultDetail(backend, 'nope')).rejects.toBeInstanceOf(TaskResultDoesNotExist);
    });

    it('refuses invalid options with InvalidResultQuery naming the option', async () => {
      await expect(listResults(backend, { limit: 0 })).rejects.toMatchObject({
        name: 'InvalidResultQuery',
        option: 'limit',
      });
      await expect(
        listResults(backend, { status: 'DONE' as TaskResultStatus }),
      ).rejects.toBeInstanceOf(InvalidResultQuery);
      await expect(listResults(backend, { after: 'garbage' })).rejects.toMatchObject({
        option: 'after',
      });
      await expect(listResults(backend, { enqueuedAfter: new Date('x') })).rejects.toMatchObject({
        option: 'enqueuedAfter',
      });
    });

    it('pages without skipping or repeating a row while rows are inserted', async () => {
      const first = await adds.enqueueMany(Array.from({ length: 45 }, (_, i) => [i, 0]));
      const more = await adds.enqueueMany(Array.from({ length: 30 }, (_, i) => [i, 1]));
      const before = new Set([...first, ...more].map((r) => r.id));
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      do {
        const page = await listResults(backend, { limit: 7, after, status: 'READY' });
        seen.push(...page.results.map((r) => r.id));
        after = page.next ?? undefined;
        pages++;
        // Producers go on enqueueing between pages (some in the same millisecond as others).
        await adds.enqueueMany([
          [pages, 2],
          [pages, 3],
        ]);
        await adds.enqueue(pages, 4);
      } while (after !== undefined);
      expect(pages).toBe(Math.ceil(75 / 7));
      expect(new Set(seen).size).toBe(seen.length);
      expect(new Set(seen)).toEqual(before);
    });

    it('counts by queue and status with the oldest due ready task', async () => {
      const { base } = await fixture();
      const counts = await countsByQueueAndStatus(backend);
      expect(counts.map((c) => [c.queue, c.status, c.count])).toEqual([
        ['default', 'READY', 1],
        ['default', 'SUCCESSFUL', 2],
        ['mail', 'FAILED', 1],
      ]);
      // available_at of the READY row is its enqueue time (before the fixture moved enqueued_at).
      expect(counts[0]!.oldestDueAt).toBeInstanceOf(Date);
      expect(counts[1]!.oldestDueAt).toBeNull();
      expect(base).toBeGreaterThan(0);
    });

    it('filters by unique key, exactly or by prefix (LIKE wildcards taken literally)', async () => {
      const nightly = await adds
        .using({ uniqueKey: 'schedule:nightly:2026-01-01T00:00:00.000Z' })
        .enqueue(1, 1);
      const pct = await adds.using({ uniqueKey: 'schedule:50%_off:x' }).enqueue(2, 2);
      const plain = await adds.enqueue(3, 3);
      await adds.using({ uniqueKey: 'schedule:500-off:x' }).enqueue(4, 4);
      expect(await ids({ uniqueKey: 'schedule:nightly:2026-01-01T00:00:00.000Z' })).toEqual([
        nightly.id,
      ]);
      expect(await ids({ uniqueKeyPrefix: 'schedule:nightly:' })).toEqual([nightly.id]);
      expect(await ids({ uniqueKeyPrefix: 'schedule:50%_' })).toEqual([pct.id]);
      expect(await ids({ uniqueKey: 'nope' })).toEqual([]);
      expect(await ids({ uniqueKeyPrefix: 'SCHEDULE:' })).toEqual([]); // case counts
      // A schedule's ticks, newest tick first (keys end with the ISO tick), whatever the enqueue order.
      const ticks = ['2026-01-03', '2026-01-01', '2026-01-02'].map((day) =>
        adds.using({ uniqueKey: `schedule:daily:${day}T00:00:00.000Z` }).enqueue(0, 0),
      );
      const [t3, t1, t2] = await Promise.all(ticks);
      await adds.using({ uniqueKey: 'schedule:dailyish:2026-01-09T00:00:00.000Z' }).enqueue(0, 0);
      const recent = await listScheduleResults(backend, { name: 'daily', task: 'admin.adds' }, 2);
      expect(recent.map((r) => r.id)).toEqual([t3!.id, t2!.id]);
      expect(
        (await listScheduleResults(backend, { name: 'daily', task: 'admin.adds' })).map(
          (r) => r.id,
        ),
      ).toEqual([t3!.id, t2!.id, t1!.id]);
      expect(await listScheduleResults(backend, { name: 'daily', task: 'other.task' })).toEqual([]);
      const page = await listResults(backend, { taskName: 'admin.adds' });
      const byId = new Map(page.results.map((r) => [r.id, r.uniqueKey]));
      expect(byId.get(pct.id)).toBe('schedule:50%_off:x');
      expect(byId.get(plain.id)).toBeNull();
      expect((await getResultDetail(backend, nightly.id)).uniqueKey).toBe(
        'schedule:nightly:2026-01-01T00:00:00.000Z',
      );
      await expect(listResults(backend, { uniqueKey: '' })).rejects.toMatchObject({
        name: 'InvalidResultQuery',
        option: 'uniqueKey',
      });
    });

    it('retries a FAILED result as a new attempt of the same row, keeping its history', async () => {
      const { failed } = await fixture();
      const retried = await retryResult(backend, failed.id);
      expect(retried.status).toBe(TaskResultStatus.READY);
      expect(retried.finishedAt).toBeNull();
      expect(retried.errors).toHaveLength(1);
      failNext = false;
      await runAll('w-c', 2); // and the fixture's READY task
      const detail = await getResultDetail(backend, failed.id);
      expect(detail.status).toBe(TaskResultStatus.SUCCESSFUL);
      expect(detail.returnValue).toBe('sent to ann@example.com');
      expect(detail.attempts).toBe(2);
      expect(detail.attemptList.map((a) => a.workerId)).toEqual(['w-b', 'w-c']);
      expect(detail.errors[0]!.message).toContain('SMTP quota exceeded');
      expect((await backend.getResult(failed.id)).status).toBe(TaskResultStatus.SUCCESSFUL);
    });

    it('refuses to retry a READY, RUNNING or SUCCESSFUL result, and an unknown id', async () => {
      const { ok1, ready } = await fixture();
      await expect(retryResult(backend, ready.id)).rejects.toMatchObject({
        name: 'TaskNotRetryable',
        resultId: ready.id,
        status: 'READY',
      });
      await expect(retryResult(backend, ok1.id)).rejects.toBeInstanceOf(TaskNotRetryable);
      await sql(
        `update ${TASK_RESULT_TABLE} set status = 'RUNNING', lease_owner = 'w-z', attempts = 1 where id = ?`,
        [ready.id],
      );
      await expect(retryResult(backend, ready.id)).rejects.toMatchObject({ status: 'RUNNING' });
      await expect(retryResult(backend, 'missing')).rejects.toBeInstanceOf(TaskResultDoesNotExist);
    });

    it('cancels a READY result, then retries the CANCELLED one', async () => {
      const { ready, ok1 } = await fixture();
      const cancelled = await cancelResult(backend, ready.id);
      expect(cancelled.status).toBe(TaskResultStatus.CANCELLED);
      await expect(cancelResult(backend, ok1.id)).rejects.toBeInstanceOf(TaskAlreadyFinished);
      await expect(cancelResult(backend, 'missing')).rejects.toBeInstanceOf(TaskResultDoesNotExist);
      expect((await retryResult(backend, ready.id)).status).toBe(TaskResultStatus.READY);
      await runAll('w-d', 1);
      expect((await getResultDetail(backend, ready.id)).returnValue).toBe(11);
    });

    it('asks the worker of a RUNNING result to cancel it', async () => {
      const { ready } = await fixture();
      await sql(
        `update ${TASK_RESULT_TABLE} set status = 'RUNNING', lease_owner = 'w-z', attempts = 1 where id = ?`,
        [ready.id],
      );
      const detail = await cancelResult(backend, ready.id);
      expect(detail.status).toBe(TaskResultStatus.RUNNING);
      expect(detail.cancelRequestedAt).toBeInstanceOf(Date);
      expect(detail.attemptList).toEqual([{ number: 1, workerId: 'w-z', running: true }]);
    });

    it('deletes a finished or ready result, refuses a RUNNING one and an unknown id', async () => {
      const { ok1, ready } = await fixture();
      await deleteResult(backend, ok1.id);
      await expect(getResultDetail(backend, ok1.id)).rejects.toBeInstanceOf(TaskResultDoesNotExist);
      await expect(deleteResult(backend, ok1.id)).rejects.toBeInstanceOf(TaskResultDoesNotExist);
      await sql(
        `update ${TASK_RESULT_TABLE} set status = 'RUNNING', lease_owner = 'w-z', attempts = 1 where id = ?`,
        [ready.id],
      );
      await expect(deleteResult(backend, ready.id)).rejects.toMatchObject({
        name: 'TaskStillRunning',
        resultId: ready.id,
      });
      await expect(deleteResult(backend, ready.id)).rejects.toBeInstanceOf(TaskStillRunning);
      expect((await getResultDetail(backend, ready.id)).status).toBe('RUNNING');
    });

    it('lists recently seen workers with the tasks they run', async () => {
      const { ready } = await fixture();
      await sql(`delete from ${WORKER_TABLE}`);
      const now = Date.now();
      await sql(
        `insert into ${WORKER_TABLE} (id, backend_name, hostname, pid, queues, started_at, last_seen_at) values (?, 'default', 'host1', 42, '["*"]', ?, ?), (?, 'default', 'host2', 43, '["*"]', ?, ?)`,
        ['w-z', at(now), at(now), 'w-old', at(now - 3_600_000), at(now - 3_600_000)],
      );
      await sql(
        `update ${TASK_RESULT_TABLE} set status = 'RUNNING', lease_owner = 'w-z', attempts = 1 where id = ?`,
        [ready.id],
      );
      const workers = await listWorkers(backend);
      expect(workers).toHaveLength(1);
      expect(workers[0]).toMatchObject({
        workerId: 'w-z',
        hostname: 'host1',
        pid: 42,
        running: [ready.id],
      });
      expect(workers[0]!.lastSeenAt!.getTime()).toBe(now);
      expect(await listWorkers(backend, 2 * 3_600_000)).toHaveLength(2);
    });
  });
}
