import type { TestDialect } from './helpers.ts';
import { describe, expect, it } from 'vitest';
import { taskBackends, TaskResultStatus } from '@djtasks/tasks';
import { DatabaseBackend, status, TASK_RESULT_TABLE } from '../src/index.ts';
import { countRun, waitsForAbortRetried } from './fixtures/tasks.ts';
import { RUNS_TABLE } from './fixtures/side-table.ts';
import { startWorkerProcess, useWorkerDatabase, waitUntil } from './processes.ts';

/** Cancelling from one process a task that a worker process runs or will run. */
export function cancelSuite(dialect: TestDialect): void {
  describe(`cancellation across processes (${dialect})`, () => {
    const db = useWorkerDatabase(dialect);

    it('cancels a task running on another worker process: its signal aborts, it ends CANCELLED, not retried', async () => {
      const result = await waitsForAbortRetried.enqueue();
      const worker = startWorkerProcess(db.url(), ['--lease', '3', '--worker-id', 'runner']);
      await waitUntil(
        'the task runs',
        async () => (await db.count(`select count(*) from ${RUNS_TABLE}`)) === 1,
      );
      const asked = performance.now();
      await result.cancel();
      await waitUntil('the task is cancelled', async () => {
        await result.refresh();
        return result.isFinished;
      });
      console.info(`cancelled ${Math.round(performance.now() - asked)} ms after cancel()`);
      expect(result.status).toBe(TaskResultStatus.CANCELLED);
      expect(result.attempts).toBe(1);
      expect(result.errors).toEqual([]);
      expect(result.workerIds).toEqual(['runner']);
      // `status` shows the worker alive and when it last made progress (a claim or a stored outcome).
      const backend = taskBackends.get('default') as DatabaseBackend;
      await waitUntil('status reports the worker with its progress', async () => {
        const report = await status(backend);
        const runner = report.workers.find((w) => w.workerId === 'runner');
        return runner?.lastProgressAt instanceof Date && runner.lastSeenAt instanceof Date;
      });
      worker.child.kill('SIGTERM');
      expect(await worker.exited, worker.output()).toEqual({ code: 0, signal: null });
      expect(await db.count(`select count(*) from ${RUNS_TABLE}`)).toBe(1);
      expect(worker.output()).toContain(`cancelling running task ${result.id}`);
    });

    it('cancels a deferred task: it never runs, while a task due later does', async () => {
      const soon = Date.now();
      const cancelled = await countRun.using({ runAfter: new Date(soon + 500) }).enqueue();
      const later = await countRun.using({ runAfter: new Date(soon + 1500) }).enqueue();
      await cancelled.cancel();
      expect(cancelled.status).toBe(TaskResultStatus.CANCELLED);
      const worker = startWorkerProcess(db.url(), ['--interval', '0.2', '--worker-id', 'runner']);
      await waitUntil('the later task is done', async () => {
        await later.refresh();
        return later.isFinished;
      });
      worker.child.kill('SIGTERM');
      expect(await worker.exited, worker.output()).toEqual({ code: 0, signal: null });
      await cancelled.refresh();
      expect(cancelled.status).toBe(TaskResultStatus.CANCELLED);
      expect(cancelled.attempts).toBe(0);
      expect(cancelled.startedAt).toBeNull();
      expect(
        await db.count(`select count(*) from ${RUNS_TABLE} where task_id = ?`, [cancelled.id]),
      ).toBe(0);
      expect(
        await db.count(`select count(*) from ${TASK_RESULT_TABLE} where status = 'CANCELLED'`),
      ).toBe(1);
    });
  });
}
