import { describe, expect, it } from 'vitest';
import { TaskResultStatus, taskStarted, type TaskSignalPayload } from '@djtasks/tasks';
import { addNumbers, sleeps, waitForResult, waitsForCancel } from '@djtasks/tasks/testing';
import { blocksPastTimeout, blocksThread, cancelsFromThread } from './fixtures/thread-tasks.ts';
import { useThreadPool } from './helpers.ts';

describe('ThreadPoolBackend: timeouts and cancellation', () => {
  it('terminates and replaces a thread whose task ignores its timeout, recording a TaskTimeout', async () => {
    const { backend, logger } = useThreadPool({ maxWorkers: 1, abortTimeoutMs: 200 });
    const before = await waitForResult(await addNumbers.enqueue(1, 1));
    // Busy for a minute: only terminating its thread stops it.
    const stuck = await waitForResult(await blocksPastTimeout.enqueue(60_000), {
      timeoutMs: 30_000,
    });
    expect(stuck.status).toBe(TaskResultStatus.FAILED);
    expect(stuck.errors.map((error) => error.exceptionClassPath)).toEqual(['TaskTimeout']);
    const after = await waitForResult(await addNumbers.enqueue(2, 3));
    expect(after.returnValue.sum).toBe(5);
    expect(after.workerIds[0]).not.toBe(before.workerIds[0]);
    expect(backend.stats.threads).toBe(1);
    expect(logger.lines.map((line) => line.text).join('\n')).toMatch(
      /did not stop within 200 ms after its timeout; terminating the thread and starting another/,
    );
  });

  it('cancels a READY task waiting for a busy thread: it never starts', async () => {
    const { backend } = useThreadPool({ maxWorkers: 1 });
    const busy = await sleeps.enqueue(300);
    const waiting = await addNumbers.enqueue(1, 2);
    await waiting.cancel();
    expect(waiting.status).toBe(TaskResultStatus.CANCELLED);
    // Only the busy task is left: the cancelled one is out of the queue.
    expect(backend.stats.queued + backend.stats.running).toBe(1);
    await waitForResult(busy);
    expect(backend.stats.queued).toBe(0);
    const later = await addNumbers.getResult(waiting.id);
    expect(later.status).toBe(TaskResultStatus.CANCELLED);
    expect(later.workerIds).toEqual([]);
  });

  it('cancels a RUNNING task that ignores its signal by terminating its thread', async () => {
    const { backend } = useThreadPool({ maxWorkers: 1, abortTimeoutMs: 200 });
    const cancelling: Promise<unknown>[] = [];
    const onStarted = ({ taskResult }: TaskSignalPayload): void => {
      if (taskResult.task.name === blocksThread.name)
        cancelling.push(backend.cancel(taskResult.id));
    };
    taskStarted.connect(onStarted);
    try {
      const result = await waitForResult(await blocksThread.enqueue(60_000), { timeoutMs: 30_000 });
      expect(result.status).toBe(TaskResultStatus.CANCELLED);
      expect(result.errors).toEqual([]);
      await Promise.all(cancelling);
      const after = await waitForResult(await addNumbers.enqueue(2, 2));
      expect(after.returnValue.sum).toBe(4);
    } finally {
      taskStarted.disconnect(onStarted);
    }
  });

  it('cancels a task a thread holds but has not started: the thread drops it', async () => {
    const { backend } = useThreadPool({ maxWorkers: 1 });
    // Teach the pool that blocksThread is short, so that the thread takes several at once.
    const warmUp = await blocksThread.enqueueMany(Array.from({ length: 30 }, () => [0]));
    for (const warm of warmUp) await waitForResult(warm);
    // The first one then blocks the thread (long enough for a loaded machine to look) while it
    // holds the others.
    const [first, ...held] = await blocksThread.enqueueMany([[1500], [0], [0], [0]]);
    await waitForResult(first!, { until: (r) => r.status === TaskResultStatus.RUNNING });
    expect(backend.stats.queued).toBe(3); // handed to the thread, not started
    const dropped = held[1]!;
    await dropped.cancel();
    expect(dropped.status).toBe(TaskResultStatus.CANCELLED);
    for (const result of [first!, held[0]!, held[2]!]) {
      await waitForResult(result);
      expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
    }
    const stored = await blocksThread.getResult(dropped.id);
    expect(stored.status).toBe(TaskResultStatus.CANCELLED);
    expect(stored.workerIds).toEqual([]);
    expect(backend.stats).toMatchObject({ queued: 0, running: 0 });
  });

  it('cancels from inside a pool thread through the main thread', async () => {
    useThreadPool({ maxWorkers: 2 });
    const target = await sleeps.using({ runAfter: new Date(Date.now() + 60_000) }).enqueue(1);
    const canceller = await waitForResult(await cancelsFromThread.enqueue(target.id));
    expect(canceller.returnValue).toBe('CANCELLED');
    await target.refresh();
    expect(target.status).toBe(TaskResultStatus.CANCELLED);
  });

  it('cancels a RUNNING task that honours its signal without replacing its thread', async () => {
    const { backend } = useThreadPool({ maxWorkers: 1 });
    const result = await waitsForCancel.enqueue();
    await waitForResult(result, { until: (r) => r.status === TaskResultStatus.RUNNING });
    await result.cancel();
    await waitForResult(result);
    expect(result.status).toBe(TaskResultStatus.CANCELLED);
    expect(result.attempts).toBe(1);
    const after = await waitForResult(await addNumbers.enqueue(1, 1));
    expect(after.workerIds[0]).toBe(result.workerIds[0]);
    expect(backend.stats.threads).toBe(1);
  });
});
