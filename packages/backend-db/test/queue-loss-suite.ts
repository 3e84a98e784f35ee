import type { TestDialect } from './helpers.ts';
import { describe, expect, it } from 'vitest';
import { TaskResultStatus } from '@djtasks/tasks';
import { countRun, failsFirstTime } from './fixtures/tasks.ts';
import { RUNS_TABLE } from './fixtures/side-table.ts';
import { startWorkerProcess, useWorkerDatabase, waitUntil } from './processes.ts';

/**
 * Issue 8: a queue leaves the workers' configuration while a retry of a task on it waits.
 * The worker process keeps running and ends the task FAILED with `InvalidTask`, unrun, as
 * Django's worker does when the task it loads no longer validates.
 */
export function queueLossSuite(dialect: TestDialect): void {
  describe(`a queue dropped from the configuration while a retry waits (${dialect})`, () => {
    const db = useWorkerDatabase(dialect);

    it('the worker process survives and the task ends FAILED with InvalidTask', async () => {
      const retried = await failsFirstTime.using({ queueName: 'reports' }).enqueue();
      // A worker of the old configuration runs attempt 1 alone (then exits), which fails; the
      // retry is stored READY, due a second later.
      const before = startWorkerProcess(
        db.url(),
        ['--queue', '*', '--max-tasks', '1', '--worker-id', 'before'],
        { DJTASKS_TEST_QUEUES: '["default","reports"]', DJTASKS_TEST_RETRY_DELAY_MS: '1000' },
      );
      expect(await before.exited, before.output()).toEqual({ code: 0, signal: null });
      await retried.refresh();
      expect(retried.status).toBe(TaskResultStatus.READY);
      expect(retried.attempts).toBe(1);
      expect(retried.task.runAfter).not.toBeNull();

      // The new configuration has no 'reports' queue; its worker takes every queue in the table.
      const after = startWorkerProcess(
        db.url(),
        ['--queue', '*', '--interval', '0.2', '--worker-id', 'after'],
        { DJTASKS_TEST_QUEUES: '["default"]' },
      );
      await waitUntil('the retried task is finished', async () => {
        await retried.refresh();
        return retried.isFinished;
      });
      expect(retried.status).toBe(TaskResultStatus.FAILED);
      expect(retried.attempts).toBe(2);
      expect(retried.workerIds).toEqual(['before', 'after']);
      expect(retried.errors.map((e) => e.exceptionClassPath)).toEqual(['Error', 'InvalidTask']);
      expect(retried.errors[1]!.message).toContain(
        `is on queue 'reports', which backend 'default' no longer accepts (valid: 'default')`,
      );

      // The same process goes on running tasks of the queues it still has.
      const later = await countRun.enqueue();
      await waitUntil('a later task on the default queue is finished', async () => {
        await later.refresh();
        return later.isFinished;
      });
      expect(later.status).toBe(TaskResultStatus.SUCCESSFUL);
      expect(after.child.exitCode, after.output()).toBeNull();
      after.child.kill('SIGTERM');
      expect(await after.exited, after.output()).toEqual({ code: 0, signal: null });
      expect(after.output()).toContain(`Task ${retried.id} (test.failsFirstTime) is on queue`);
      // Attempt 1 and the later task ran; attempt 2 was refused without running.
      expect(await db.count(`select count(*) from ${RUNS_TABLE}`)).toBe(2);
    });
  });
}
