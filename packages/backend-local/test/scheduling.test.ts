import { describe, expect, it } from 'vitest';
import { taskStarted, TaskResultStatus, type TaskSignalPayload } from '@djtasks/tasks';
import { echo, noop, sleeps, waitForResult } from '@djtasks/tasks/testing';
import { failsOnce } from './fixtures/thread-tasks.ts';
import { useThreadPool } from './helpers.ts';

describe('ThreadPoolBackend scheduling', () => {
  it('runs higher priority first and keeps enqueue order within a priority', async () => {
    useThreadPool({ maxWorkers: 1 });
    const blocker = await waitForResult(await sleeps.enqueue(200), {
      until: (r) => r.status === TaskResultStatus.RUNNING,
    });
    const order: string[] = [];
    const record = ({ taskResult }: TaskSignalPayload): void => {
      if (taskResult.task.name === echo.name) order.push(taskResult.args[0] as string);
    };
    taskStarted.connect(record);
    try {
      const plan: [string, number][] = [
        ['low-1', -10],
        ['zero-1', 0],
        ['high-1', 50],
        ['low-2', -10],
        ['top', 100],
        ['zero-2', 0],
        ['high-2', 50],
      ];
      const results = [];
      for (const [label, priority] of plan) {
        results.push(await echo.using({ priority }).enqueue(label));
      }
      for (const result of results) await waitForResult(result);
      await waitForResult(blocker);
      expect(order).toEqual(['top', 'high-1', 'high-2', 'zero-1', 'zero-2', 'low-1', 'low-2']);
    } finally {
      taskStarted.disconnect(record);
    }
  });

  it('keeps deferred tasks on a timer, without a thread, and runs them in runAfter order', async () => {
    const { backend } = useThreadPool({ maxWorkers: 1 });
    const now = Date.now();
    const late = await echo.using({ runAfter: new Date(now + 450) }).enqueue('late');
    const early = await echo.using({ runAfter: new Date(now + 150) }).enqueue('early');
    const middle = await echo.using({ runAfter: new Date(now + 300) }).enqueue('middle');
    const far = await noop.using({ runAfter: new Date(now + 3_600_000) }).enqueue();
    expect(backend.stats).toMatchObject({ deferred: 4, queued: 0, threads: 0 });

    for (const result of [late, early, middle]) await waitForResult(result);
    const starts = [early, middle, late].map((r) => r.startedAt!.getTime());
    expect(starts[0]).toBeGreaterThanOrEqual(now + 150);
    expect(starts[1]).toBeGreaterThanOrEqual(now + 300);
    expect(starts[2]).toBeGreaterThanOrEqual(now + 450);
    await far.refresh();
    expect(far.status).toBe(TaskResultStatus.READY);
    expect(backend.stats.deferred).toBe(1);
  });

  it('retries a failed attempt after its backoff through the shared lifecycle', async () => {
    const { backend } = useThreadPool({ maxWorkers: 1 });
    const result = await failsOnce.enqueue();
    await waitForResult(result, { until: (r) => r.errors.length === 1 });
    if (result.status === TaskResultStatus.READY) {
      // Between attempts: READY again, deferred by the backoff.
      expect(result.task.runAfter).toBeInstanceOf(Date);
      expect(backend.stats.deferred + backend.stats.queued).toBe(1);
    }
    await waitForResult(result);
    expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
    expect(result.returnValue).toBe(2);
    expect(result.attempts).toBe(2);
    expect(result.errors.map((e) => e.message)).toEqual(['first attempt fails']);
    expect(result.task.runAfter).toBeInstanceOf(Date);
    expect(result.lastAttemptedAt!.getTime()).toBeGreaterThanOrEqual(
      result.task.runAfter!.getTime(),
    );
    expect(result.lastAttemptedAt!.getTime()).toBeGreaterThan(result.startedAt!.getTime());
  });

  it('shows READY, RUNNING and the finished state through getResult and refresh', async () => {
    useThreadPool({ maxWorkers: 1 });
    const blocker = await sleeps.enqueue(150);
    const waiting = await sleeps.enqueue(10);
    await waitForResult(blocker, { until: (r) => r.status === TaskResultStatus.RUNNING });
    expect((await sleeps.getResult(waiting.id)).status).toBe(TaskResultStatus.READY);
    expect((await sleeps.getResult(blocker.id)).workerIds).toHaveLength(1);
    await waitForResult(waiting);
    expect(waiting.status).toBe(TaskResultStatus.SUCCESSFUL);
    const fetched = await sleeps.getResult(blocker.id);
    expect(fetched.status).toBe(TaskResultStatus.SUCCESSFUL);
    expect(fetched).not.toBe(blocker);
  });
});
