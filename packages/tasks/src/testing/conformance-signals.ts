/**
 * The part of the conformance suite about signals: their order and sender, receivers that
 * throw, and that each state is stored before its signal is sent.
 */
import { describe, expect, it } from 'vitest';
import type { BaseTaskBackend } from '../backends/base.ts';
import type { TaskResult } from '../result.ts';
import { taskEnqueued, taskFinished, taskStarted, type TaskSignalPayload } from '../signals.ts';
import { TaskResultStatus } from '../status.ts';
import { addNumbers, noop } from './fixtures.ts';

/** What the signal tests share with the rest of the suite. */
export interface SignalSuite {
  executes: boolean;
  backend: () => BaseTaskBackend<unknown>;
  finished: <T>(result: TaskResult<T>) => Promise<TaskResult<T>>;
  seen: readonly { signal: string; id: string; status: string; sender: unknown }[];
  logged: readonly string[];
}

/**
 * Wait until `condition` holds (checked every 10 ms, for at most 10 s): a backend stores a
 * state before it sends the signal, so a reader polling the store may see the state first.
 */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Register the signal tests (for backends that run tasks). */
export function describeSignals(suite: SignalSuite): void {
  const { backend, finished, seen, logged } = suite;

  describe.runIf(suite.executes)('signals', () => {
    it('sends enqueued, started and finished in that order', async () => {
      const result = await finished(await noop.enqueue());
      await until(() =>
        seen.some((event) => event.id === result.id && event.signal === 'finished'),
      );
      const events = seen
        .filter((event) => event.id === result.id)
        .map((event) => `${event.signal}:${event.status}`);
      expect(events).toEqual(['enqueued:READY', 'started:RUNNING', 'finished:SUCCESSFUL']);
      for (const event of seen) expect(event.sender).toBe(backend().constructor);
    });

    it('stores each state before its signal is sent, so receivers can read it', async (context) => {
      if (!backend().supportsGetResult) return context.skip();
      const read: Promise<string>[] = [];
      const reader = ({ taskResult }: TaskSignalPayload): void => {
        if (taskResult.task.name !== addNumbers.name) return;
        // Read asynchronously: by then a started task may have finished, never gone back to READY.
        read.push(
          backend()
            .getResult(taskResult.id)
            .then((stored) =>
              taskResult.status === 'RUNNING'
                ? `RUNNING:${stored.status === 'READY' ? 'READY' : 'RUNNING or later'}`
                : `${taskResult.status}:${stored.status}`,
            ),
        );
      };
      taskStarted.connect(reader);
      taskFinished.connect(reader);
      try {
        await finished(await addNumbers.enqueue(3, 4));
        await until(() => read.length >= 2);
        expect(await Promise.all(read)).toEqual([
          'RUNNING:RUNNING or later',
          'SUCCESSFUL:SUCCESSFUL',
        ]);
      } finally {
        taskStarted.disconnect(reader);
        taskFinished.disconnect(reader);
      }
    });

    it('keeps running tasks when a signal receiver throws', async () => {
      const broken = (): void => {
        throw new Error('receiver failed');
      };
      taskEnqueued.connect(broken);
      taskStarted.connect(broken);
      taskFinished.connect(broken);
      try {
        const result = await finished(await addNumbers.enqueue(1, 1));
        expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
        expect(logged).toContain(
          `error receiver broken of taskEnqueued failed for task id=${result.id}`,
        );
      } finally {
        taskEnqueued.disconnect(broken);
        taskStarted.disconnect(broken);
        taskFinished.disconnect(broken);
      }
    });
  });
}
