import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BackendConfig } from '../backend-registry.ts';
import { configureTasks, taskBackends } from '../backend-registry.ts';
import {
  InvalidTask,
  InvalidTaskBackend,
  TaskJsonError,
  TaskResultDoesNotExist,
  TaskResultMismatch,
} from '../exceptions.ts';
import type { TaskResult } from '../result.ts';
import { taskEnqueued, taskFinished, taskStarted, type TaskSignalPayload } from '../signals.ts';
import { TaskResultStatus } from '../status.ts';
import {
  addNumbers,
  echo,
  exits,
  fails,
  FIXTURES_MODULE,
  flaky,
  noop,
  readsContext,
  rejects,
  returnsDate,
} from './fixtures.ts';
import { describeMetadata } from './conformance-metadata.ts';
import { describeSignals } from './conformance-signals.ts';
import { describeStopping } from './conformance-stopping.ts';
import { waitForResult } from './wait.ts';

/** How to set up the backend under test for {@link describeBackendConformance}. */
export interface ConformanceOptions {
  /** The configuration entry of the backend under test; called before each test. */
  backend: () => BackendConfig | Promise<BackendConfig>;
  /** Whether the backend runs tasks. `DummyBackend` does not; the parts that need it are skipped. */
  executes: boolean;
  /**
   * Start whatever runs the enqueued tasks, if the backend does not do it itself (a database
   * worker in this process, so that signals are observable here). Returns a function that stops it.
   */
  startWorker?: () => Promise<() => Promise<void>>;
  /** Called after each test, once the backends are closed. */
  cleanup?: () => Promise<void>;
  /** Whether a task that calls `process.exit()` must end FAILED (true for backends that isolate tasks). */
  isolatesProcessExit?: boolean;
  /** How long to wait for a task to finish. @defaultValue 15000 */
  timeoutMs?: number;
}

/** The other queue the suite configures besides `default`. */
export const CONFORMANCE_OTHER_QUEUE = 'conformance-other';

/**
 * Register the backend conformance suite with vitest: the behaviour every djtasks backend
 * shares, checked against the capability flags the backend declares.
 */
export function describeBackendConformance(name: string, options: ConformanceOptions): void {
  const timeoutMs = options.timeoutMs ?? 15_000;

  describe(`backend conformance: ${name}`, { timeout: timeoutMs + 5_000 }, () => {
    let stopWorker: (() => Promise<void>) | undefined;
    const seen: { signal: string; id: string; status: string; sender: unknown }[] = [];
    const record = (signal: string) => (payload: TaskSignalPayload) => {
      seen.push({
        signal,
        id: payload.taskResult.id,
        status: payload.taskResult.status,
        sender: payload.sender,
      });
    };
    const onEnqueued = record('enqueued');
    const onStarted = record('started');
    const onFinished = record('finished');
    // Failing fixture tasks are expected here: keep their log lines out of the test output.
    const logged: string[] = [];
    const logger = {
      debug: () => {},
      info: () => {},
      warn: (message: string) => {
        logged.push(`warn ${message}`);
      },
      error: (message: string) => {
        logged.push(`error ${message}`);
      },
    };

    beforeEach(async () => {
      const entry = await options.backend();
      configureTasks({
        backends: { default: { ...entry, queues: ['default', CONFORMANCE_OTHER_QUEUE] } },
        taskModules: [FIXTURES_MODULE],
        logger,
      });
      seen.length = 0;
      logged.length = 0;
      taskEnqueued.connect(onEnqueued);
      taskStarted.connect(onStarted);
      taskFinished.connect(onFinished);
      stopWorker = await options.startWorker?.();
    });

    afterEach(async () => {
      taskEnqueued.disconnect(onEnqueued);
      taskStarted.disconnect(onStarted);
      taskFinished.disconnect(onFinished);
      await stopWorker?.();
      stopWorker = undefined;
      await taskBackends.close();
      configureTasks();
      await options.cleanup?.();
    });

    const backend = () => taskBackends.get('default');
    const finished = <T>(result: TaskResult<T>) =>
      result.isFinished ? Promise.resolve(result) : waitForResult(result, { timeoutMs });

    describe('enqueue', () => {
      it('returns a result with a short id, its arguments normalised and the backend alias', async () => {
        const result = await addNumbers.enqueue(2, 3);
        expect(typeof result.id).toBe('string');
        expect(result.id.length).toBeGreaterThan(0);
        expect(result.id.length).toBeLessThan(64);
        expect(result.args).toEqual([2, 3]);
        expect(result.backend).toBe('default');
        expect(result.task.name).toBe(addNumbers.name);
        expect(result.enqueuedAt).toBeInstanceOf(Date);
        const second = await addNumbers.enqueue(2, 3);
        expect(second.id).not.toBe(result.id);
      });

      it('copies the arguments, so changing them afterwards changes nothing', async () => {
        const payload = { list: [1, 2], nested: { ok: true } };
        const result = await echo.enqueue(payload);
        payload.list.push(3);
        expect(result.args).toEqual([{ list: [1, 2], nested: { ok: true } }]);
      });

      it('sends taskEnqueued once, with the backend class as sender', async () => {
        const result = await noop.enqueue();
        const enqueued = seen.filter(
          (event) => event.signal === 'enqueued' && event.id === result.id,
        );
        expect(enqueued).toHaveLength(1);
        expect(enqueued[0]?.sender).toBe(backend().constructor);
        expect(enqueued[0]?.status).toBe(TaskResultStatus.READY);
      });

      it('rejects arguments that cannot survive JSON, naming the path, and enqueues nothing', async () => {
        const bad = { when: new Date() } as unknown as string;
        await expect(echo.enqueue(bad)).rejects.toThrow(TaskJsonError);
        await expect(echo.enqueue(bad)).rejects.toThrow('args[0].when: Date is not JSON');
        await expect(echo.enqueue([1, undefined] as unknown as string)).rejects.toThrow(
          'args[0][1]: undefined is not JSON',
        );
        await expect(echo.enqueue(Number.NaN)).rejects.toThrow('args[0]: NaN is not JSON');
        expect(seen.filter((event) => event.signal === 'enqueued')).toHaveLength(0);
      });

      it('enqueues many at once, each with its own result', async () => {
        const results = await addNumbers.enqueueMany([
          [1, 1],
          [2, 2],
          [3, 3],
        ]);
        expect(results.map((r) => r.args)).toEqual([
          [1, 1],
          [2, 2],
          [3, 3],
        ]);
        expect(new Set(results.map((r) => r.id)).size).toBe(3);
        if (options.executes) {
          for (const result of results) await finished(result);
          expect(results.map((r) => r.returnValue.sum)).toEqual([2, 4, 6]);
        }
      });
    });

    describe('validation', () => {
      it('checks priority: a whole number in range, and only where priority is supported', () => {
        expect(() => noop.using({ priority: 101 })).toThrow(InvalidTask);
        expect(() => noop.using({ priority: 1.5 })).toThrow(
          'priority must be a whole number between -100 and 100 (got 1.5).',
        );
        if (backend().supportsPriority) {
          expect(noop.using({ priority: 100 }).priority).toBe(100);
        } else {
          expect(() => noop.using({ priority: 10 })).toThrow(
            'does not support setting priority of tasks',
          );
        }
      });

      it('checks runAfter: a valid Date, and only where deferral is supported', () => {
        const later = new Date(Date.now() + 60_000);
        if (backend().supportsDefer) {
          expect(noop.using({ runAfter: later }).runAfter?.getTime()).toBe(later.getTime());
          expect(() => noop.using({ runAfter: new Date(Number.NaN) })).toThrow(
            'runAfter must be a valid Date',
          );
        } else {
          expect(() => noop.using({ runAfter: later })).toThrow('does not support runAfter');
        }
      });

      it("checks the queue against the backend's queues", async () => {
        expect(noop.using({ queueName: CONFORMANCE_OTHER_QUEUE }).queueName).toBe(
          CONFORMANCE_OTHER_QUEUE,
        );
        expect(() => noop.using({ queueName: 'nope' })).toThrow(
          "Queue 'nope' is not valid for backend 'default'",
        );
        await expect(
          noop.using({ queueName: CONFORMANCE_OTHER_QUEUE }).enqueue(),
        ).resolves.toBeDefined();
      });

      it('checks retries against supportsRetries', () => {
        if (backend().supportsRetries) {
          expect(() => {
            backend().validateTask(flaky);
          }).not.toThrow();
        } else {
          expect(() => {
            backend().validateTask(flaky);
          }).toThrow('does not support retries');
        }
      });

      it('names an unknown backend alias and the configured ones', () => {
        expect(() => noop.using({ backend: 'missing' })).toThrow(InvalidTaskBackend);
        expect(() => noop.using({ backend: 'missing' })).toThrow(
          "The task backend 'missing' doesn't exist (configured: 'default').",
        );
      });

      it('leaves the original task unchanged by using()', () => {
        const changed = noop.using({ queueName: CONFORMANCE_OTHER_QUEUE });
        expect(noop.queueName).toBe('default');
        expect(changed).not.toBe(noop);
        expect(changed.func).toBe(noop.func);
      });
    });

    describe('results', () => {
      it('gets a result by id, refuses unknown ids and results of another task', async (context) => {
        if (!backend().supportsGetResult) {
          context.skip();
          return;
        }
        const result = await addNumbers.enqueue(4, 5);
        const fetched = await addNumbers.getResult(result.id);
        expect(fetched.id).toBe(result.id);
        expect(fetched.args).toEqual([4, 5]);
        await expect(addNumbers.getResult('does-not-exist')).rejects.toThrow(
          TaskResultDoesNotExist,
        );
        await expect(noop.getResult(result.id)).rejects.toThrow(TaskResultMismatch);
        await expect(noop.getResult(result.id)).rejects.toThrow(
          `Task does not match (received '${addNumbers.name}')`,
        );
      });

      it('keeps results READY when the backend does not run tasks', async (context) => {
        if (options.executes) {
          context.skip();
          return;
        }
        const result = await addNumbers.enqueue(1, 2);
        expect(result.status).toBe(TaskResultStatus.READY);
        expect(result.isFinished).toBe(false);
        expect(() => result.returnValue).toThrow('Task has not finished yet');
      });
    });

    describe.runIf(options.executes)('execution', () => {
      it('runs a task and records its return value, timestamps and worker', async () => {
        const result = await finished(await addNumbers.enqueue(20, 22));
        expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
        expect(result.returnValue).toEqual({ a: 20, b: 22, sum: 42 });
        expect(result.errors).toEqual([]);
        expect(result.attempts).toBe(1);
        expect(result.workerIds).toHaveLength(1);
        const { enqueuedAt, startedAt, lastAttemptedAt, finishedAt } = result;
        expect(startedAt).toBeInstanceOf(Date);
        expect(finishedAt).toBeInstanceOf(Date);
        expect(lastAttemptedAt?.getTime()).toBe(startedAt?.getTime());
        expect(startedAt!.getTime()).toBeGreaterThanOrEqual(enqueuedAt!.getTime());
        expect(finishedAt!.getTime()).toBeGreaterThanOrEqual(startedAt!.getTime());
      });

      it('records a thrown error as FAILED with a TaskError, without throwing from enqueue', async () => {
        const result = await finished(await fails.enqueue('boom'));
        expect(result.status).toBe(TaskResultStatus.FAILED);
        expect(result.errors).toHaveLength(1);
        expect(result.errors[0]?.exceptionClassPath).toBe('TypeError');
        expect(result.errors[0]?.message).toBe('boom');
        expect(result.errors[0]?.traceback).toContain('boom');
        expect(result.finishedAt).toBeInstanceOf(Date);
        expect(() => result.returnValue).toThrow('Task failed');
      });

      it('records an async rejection as FAILED', async () => {
        const result = await finished(await rejects.enqueue('later'));
        expect(result.status).toBe(TaskResultStatus.FAILED);
        expect(result.errors[0]?.exceptionClassPath).toBe('RangeError');
        expect(result.errors[0]?.message).toBe('later');
      });

      it('fails an attempt whose return value cannot survive JSON', async () => {
        const result = await finished(await returnsDate.enqueue());
        expect(result.status).toBe(TaskResultStatus.FAILED);
        expect(result.errors[0]?.exceptionClassPath).toBe('TaskJsonError');
        expect(result.errors[0]?.message).toBe('returnValue: Date is not JSON');
      });

      it('passes a TaskContext to tasks that take one', async () => {
        const result = await finished(await readsContext.enqueue());
        expect(result.returnValue).toEqual({
          id: result.id,
          attempt: 1,
          status: 'RUNNING',
          aborted: false,
        });
      });

      it('retries a failing task up to maxAttempts, keeping every error', async (context) => {
        if (!backend().supportsRetries) {
          context.skip();
          return;
        }
        const recovered = await finished(await flaky.enqueue(2));
        expect(recovered.status).toBe(TaskResultStatus.SUCCESSFUL);
        expect(recovered.returnValue).toBe(3);
        expect(recovered.attempts).toBe(3);
        expect(recovered.errors.map((error) => error.message)).toEqual([
          'attempt 1 failed',
          'attempt 2 failed',
        ]);

        const exhausted = await finished(await flaky.enqueue(5));
        expect(exhausted.status).toBe(TaskResultStatus.FAILED);
        expect(exhausted.attempts).toBe(3);
        expect(exhausted.errors).toHaveLength(3);
        expect(
          seen.filter((event) => event.id === exhausted.id && event.signal === 'finished'),
        ).toHaveLength(1);
      });

      it('does not start a deferred task before its runAfter', async (context) => {
        if (!backend().supportsDefer) {
          context.skip();
          return;
        }
        const runAfter = new Date(Date.now() + 300);
        const result = await finished(await noop.using({ runAfter }).enqueue());
        expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
        expect(result.startedAt!.getTime()).toBeGreaterThanOrEqual(runAfter.getTime());
      });

      it.runIf(options.isolatesProcessExit === true)(
        'fails a task that calls process.exit()',
        async () => {
          const result = await finished(await exits.enqueue(3));
          expect(result.status).toBe(TaskResultStatus.FAILED);
          expect(result.errors.at(-1)?.message).toMatch(/exit/i);
          const after = await finished(await addNumbers.enqueue(1, 2));
          expect(after.returnValue.sum).toBe(3);
        },
      );
    });

    describeSignals({ executes: options.executes, backend, finished, seen, logged });
    describeStopping({ executes: options.executes, backend, finished, seen });
    describeMetadata({ executes: options.executes, backend, finished });
  });
}
