/**
 * The part of the conformance suite about stopping tasks: timeouts and cancellation. Each
 * part runs only for a backend that declares it (`supportsTimeout`, `supportsCancel`).
 */
import { describe, expect, it } from 'vitest';
import type { BaseTaskBackend } from '../backends/base.ts';
import { TaskAlreadyFinished, TaskResultDoesNotExist } from '../exceptions.ts';
import type { TaskResult } from '../result.ts';
import { taskStarted, type TaskSignalPayload } from '../signals.ts';
import { TaskResultStatus } from '../status.ts';
import {
  addNumbers,
  honoursTimeout,
  ignoresTimeout,
  noop,
  timesOutOnce,
  waitsForCancel,
} from './fixtures.ts';

/** What the stopping tests share with the rest of the suite. */
export interface StoppingSuite {
  executes: boolean;
  backend: () => BaseTaskBackend<any>;
  finished: <T>(result: TaskResult<T>) => Promise<TaskResult<T>>;
  seen: readonly { signal: string; id: string; status: string }[];
}

/** Register the timeout and cancellation tests. */
export function describeStopping(suite: StoppingSuite): void {
  const { backend, finished, seen } = suite;
  const signalsOf = (id: string) =>
    seen.filter((event) => event.id === id).map((event) => `${event.signal}:${event.status}`);

  describe('timeouts', () => {
    it('refuses a task with a timeout where timeouts are not supported', (context) => {
      if (backend().supportsTimeout) {
        expect(() => {
          backend().validateTask(honoursTimeout);
        }).not.toThrow();
        return;
      }
      expect(() => {
        backend().validateTask(honoursTimeout);
      }).toThrow('does not support timeouts');
      context.skip();
    });

    it('aborts the signal of an attempt that runs past its timeout and records a TaskTimeout', async (context) => {
      if (!suite.executes || !backend().supportsTimeout) return context.skip();
      const result = await finished(await honoursTimeout.enqueue());
      expect(result.status).toBe(TaskResultStatus.FAILED);
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]?.exceptionClassPath).toBe('TaskTimeout');
      expect(result.errors[0]?.message).toBe('The attempt ran past its timeout of 0.5 s.');
      expect(signalsOf(result.id)).toEqual([
        'enqueued:READY',
        'started:RUNNING',
        'finished:FAILED',
      ]);
    });

    it('retries an attempt that timed out while attempts are left', async (context) => {
      if (!suite.executes || !backend().supportsTimeout) return context.skip();
      const result = await finished(await timesOutOnce.enqueue());
      expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
      expect(result.returnValue).toBe('second');
      expect(result.attempts).toBe(2);
      expect(result.errors.map((error) => error.exceptionClassPath)).toEqual(['TaskTimeout']);
      expect(signalsOf(result.id).filter((s) => s.startsWith('finished'))).toEqual([
        'finished:SUCCESSFUL',
      ]);
    });

    it('records the timeout of a task that ignores its signal, and keeps running other tasks', async (context) => {
      if (!suite.executes || !backend().supportsTimeout) return context.skip();
      const result = await finished(await ignoresTimeout.enqueue());
      expect(result.status).toBe(TaskResultStatus.FAILED);
      expect(result.errors.map((error) => error.exceptionClassPath)).toEqual(['TaskTimeout']);
      const after = await finished(await addNumbers.enqueue(1, 2));
      expect(after.returnValue.sum).toBe(3);
    });
  });

  describe('cancellation', () => {
    it('refuses cancel() where it is not supported', async (context) => {
      if (backend().supportsCancel) return context.skip();
      const result = await noop.enqueue();
      await expect(result.cancel()).rejects.toThrow('does not support cancelling tasks');
    });

    it('cancels a READY task: CANCELLED, never started, taskFinished once', async (context) => {
      if (!backend().supportsCancel || (suite.executes && !backend().supportsDefer)) {
        return context.skip();
      }
      // A task that is not due for a minute stays READY on a backend that runs tasks.
      const task = suite.executes ? noop.using({ runAfter: new Date(Date.now() + 60_000) }) : noop;
      const result = await task.enqueue();
      await result.cancel();
      expect(result.status).toBe(TaskResultStatus.CANCELLED);
      expect(result.isFinished).toBe(true);
      expect(result.finishedAt).toBeInstanceOf(Date);
      expect(result.attempts).toBe(0);
      expect(() => result.returnValue).toThrow('Task was cancelled');
      if (backend().supportsGetResult) {
        const stored = await noop.getResult(result.id);
        expect(stored.status).toBe(TaskResultStatus.CANCELLED);
        expect(stored.startedAt).toBeNull();
      }
      expect(signalsOf(result.id)).toEqual(['enqueued:READY', 'finished:CANCELLED']);
    });

    it('cancelling twice is harmless', async (context) => {
      if (!backend().supportsCancel || (suite.executes && !backend().supportsDefer)) {
        return context.skip();
      }
      const task = suite.executes ? noop.using({ runAfter: new Date(Date.now() + 60_000) }) : noop;
      const result = await task.enqueue();
      await result.cancel();
      await result.cancel();
      await backend().cancel(result.id);
      expect(result.status).toBe(TaskResultStatus.CANCELLED);
      expect(signalsOf(result.id)).toEqual(['enqueued:READY', 'finished:CANCELLED']);
    });

    it('cancels a RUNNING task: its signal aborts with TaskCancelled, it ends CANCELLED, not retried', async (context) => {
      if (!suite.executes || !backend().supportsCancel) return context.skip();
      const cancelling: Promise<unknown>[] = [];
      const onStarted = ({ taskResult }: TaskSignalPayload): void => {
        if (taskResult.task.name === waitsForCancel.name) {
          cancelling.push(backend().cancel(taskResult.id));
        }
      };
      taskStarted.connect(onStarted);
      try {
        const result = await finished(await waitsForCancel.enqueue());
        expect(result.status).toBe(TaskResultStatus.CANCELLED);
        expect(result.attempts).toBe(1);
        expect(result.errors).toEqual([]);
        expect(result.startedAt).toBeInstanceOf(Date);
        expect(result.finishedAt).toBeInstanceOf(Date);
        expect(signalsOf(result.id)).toEqual([
          'enqueued:READY',
          'started:RUNNING',
          'finished:CANCELLED',
        ]);
        await Promise.all(cancelling);
      } finally {
        taskStarted.disconnect(onStarted);
      }
    });

    it('refuses to cancel a finished task and changes nothing', async (context) => {
      if (!suite.executes || !backend().supportsCancel) return context.skip();
      const result = await finished(await addNumbers.enqueue(1, 1));
      if (!backend().supportsGetResult) {
        // A backend that keeps no results (Immediate) no longer knows the id.
        await expect(result.cancel()).rejects.toThrow(TaskResultDoesNotExist);
        expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
        return;
      }
      await expect(result.cancel()).rejects.toThrow(TaskAlreadyFinished);
      await expect(backend().cancel(result.id)).rejects.toThrow(
        `Task result '${result.id}' has already finished (SUCCESSFUL); it cannot be cancelled.`,
      );
      expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
      if (backend().supportsGetResult) {
        expect((await addNumbers.getResult(result.id)).status).toBe(TaskResultStatus.SUCCESSFUL);
      }
      expect(signalsOf(result.id).filter((s) => s.startsWith('finished'))).toHaveLength(1);
    });
  });
}
