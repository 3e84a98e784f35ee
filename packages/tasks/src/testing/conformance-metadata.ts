/**
 * The part of the conformance suite about task metadata and instrumentation: metadata set at
 * enqueue is stored and read back by the backend, and every attempt runs through the
 * instrumentation's `attempt` hook with it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BaseTaskBackend } from '../backends/base.ts';
import { addTaskInstrumentation } from '../instrumentation.ts';
import type { TaskResult } from '../result.ts';
import { TaskResultStatus } from '../status.ts';
import { addNumbers, flaky } from './fixtures.ts';

/** What the metadata tests share with the rest of the suite. */
export interface MetadataSuite {
  executes: boolean;
  backend: () => BaseTaskBackend<any>;
  finished: <T>(result: TaskResult<T>) => Promise<TaskResult<T>>;
}

/** Register the metadata and instrumentation tests. */
export function describeMetadata(suite: MetadataSuite): void {
  const { backend, finished } = suite;
  let remove: (() => void) | undefined;
  const attempts: { id: string; attempt: number; metadata: object; outcome: string }[] = [];
  let counter = 0;

  const instrument = (): void => {
    attempts.length = 0;
    remove = addTaskInstrumentation({
      metadata: (task) => ({ tenant: 'acme', task: task.name, n: String(++counter) }),
      attempt: async (running, attempt) => {
        const outcome = await attempt();
        attempts.push({
          id: running.id,
          attempt: running.attempts,
          metadata: { ...running.metadata },
          outcome: outcome.status,
        });
        return outcome;
      },
    });
  };

  afterEach(() => {
    remove?.();
    remove = undefined;
  });

  describe('metadata', () => {
    it('stores the metadata an instrumentation adds at enqueue, and reads it back', async () => {
      instrument();
      const result = await addNumbers.enqueue(1, 2);
      expect(result.metadata).toMatchObject({ tenant: 'acme', task: addNumbers.name });
      const expected = { ...result.metadata };
      if (backend().supportsGetResult) {
        expect((await backend().getResult(result.id)).metadata).toEqual(expected);
      }
      if (!suite.executes) return;
      const done = await finished(result);
      expect(done.status).toBe(TaskResultStatus.SUCCESSFUL);
      expect(done.metadata).toEqual(expected);
      // The hook resumes after the outcome is stored, which is when a poller may see it.
      const ofResult = () => attempts.filter((entry) => entry.id === result.id);
      await vi.waitFor(() => {
        expect(ofResult()).toHaveLength(1);
      });
      expect(ofResult()).toEqual([
        { id: result.id, attempt: 1, metadata: expected, outcome: TaskResultStatus.SUCCESSFUL },
      ]);
    });

    it('gives each result of enqueueMany its own metadata', async () => {
      instrument();
      const results = await addNumbers.enqueueMany([
        [1, 1],
        [2, 2],
      ]);
      const numbers = results.map((result) => result.metadata.n);
      expect(new Set(numbers).size).toBe(2);
      if (!backend().supportsGetResult) return;
      for (const result of results) {
        expect((await backend().getResult(result.id)).metadata).toEqual(result.metadata);
      }
    });

    it('runs every attempt of a retried task through the attempt hook', async (context) => {
      if (!suite.executes || !backend().supportsRetries) return context.skip();
      instrument();
      const result = await finished(await flaky.enqueue(1));
      expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
      // Only this task's attempts: a worker may still run tasks an earlier test left behind.
      const ofResult = () => attempts.filter((entry) => entry.id === result.id);
      await vi.waitFor(() => {
        expect(ofResult()).toHaveLength(2);
      });
      expect(ofResult().map(({ attempt, outcome }) => [attempt, outcome])).toEqual([
        [1, TaskResultStatus.READY],
        [2, TaskResultStatus.SUCCESSFUL],
      ]);
      expect(ofResult()[1]?.metadata).toEqual({ ...result.metadata });
    });

    it('keeps results without metadata empty when nothing is instrumented', async () => {
      const result = await addNumbers.enqueue(1, 2);
      expect(result.metadata).toEqual({});
      if (suite.executes) expect((await finished(result)).metadata).toEqual({});
    });
  });
}
