import { describe, expect, it } from 'vitest';
import {
  configureTasks,
  DummyBackend,
  InvalidTask,
  InvalidTaskBackend,
  TaskResultStatus,
  taskBackends,
  type TaskResult,
} from '@djtasks/tasks';
import { addNumbers, FIXTURES_MODULE, waitForResult } from '@djtasks/tasks/testing';
import { ThreadPoolBackend } from '@djtasks/backend-local';
import {
  enqueuesAddition,
  enqueuesAfterClose,
  enqueuesChild,
  enqueuesChildren,
  enqueuesThreadOnlyTask,
  FORWARDING_TASKS_MODULE,
  readsAddition,
  recordedChild,
  THREAD_ONLY_TASKS_MODULE,
  tryRefusedEnqueue,
  type ThreadError,
} from './fixtures/forwarding-tasks.ts';
import { recordingLogger } from './helpers.ts';

/** A real backend that stores tasks like DummyBackend but refuses retries and runAfter. */
class NoRetriesBackend extends DummyBackend {
  override readonly supportsRetries = false;
  override readonly supportsDefer = false;
}

/** `default`: the pool; `other`: a DummyBackend with two queues; `noRetries`; `broken`: cannot be created. */
function configure(poolOptions: { closeTimeoutMs?: number } = {}) {
  const logger = recordingLogger();
  configureTasks({
    backends: {
      default: { backend: ThreadPoolBackend, options: { maxWorkers: 2, ...poolOptions } },
      other: { backend: DummyBackend, queues: ['default', 'emails'] },
      noRetries: { backend: NoRetriesBackend },
      broken: { backend: ThreadPoolBackend, options: { maxWorkers: 0 } },
    },
    taskModules: [FIXTURES_MODULE, FORWARDING_TASKS_MODULE, THREAD_ONLY_TASKS_MODULE],
    logger,
  });
  return {
    pool: taskBackends.get('default') as ThreadPoolBackend,
    other: taskBackends.get('other') as DummyBackend,
    logger,
  };
}

async function finished<T>(result: TaskResult<T>): Promise<T> {
  await waitForResult(result);
  expect(result.errors).toEqual([]);
  expect(result.status).toBe(TaskResultStatus.SUCCESSFUL);
  return result.returnValue;
}

describe('ThreadPoolBackend: a task enqueued from inside a pool thread', () => {
  it('goes to the main thread’s backend of its alias, with its args, priority and queue', async () => {
    const { other } = configure();
    const changes = { backend: 'other', priority: 7, queueName: 'emails' };
    const child = await finished(await enqueuesChild.enqueue(changes, 'hello', 3));

    expect(child).toMatchObject({
      inMainThread: false,
      isTaskResult: true,
      status: TaskResultStatus.READY,
      backend: 'other',
      priority: 7,
      queueName: 'emails',
      args: ['hello', 3],
    });
    expect(other.results).toHaveLength(1);
    const stored = other.results[0]!;
    expect(stored.id).toBe(child.id);
    expect(stored.task.name).toBe(recordedChild.name);
    expect(stored.task.func).toBe(recordedChild.func);
    expect(stored.args).toEqual(['hello', 3]);
    expect(stored.task).toMatchObject({ priority: 7, queueName: 'emails', backend: 'other' });
  });

  it('enqueueMany forwards every run in one request', async () => {
    const { other } = configure();
    const children = await finished(await enqueuesChildren.enqueue('other', 3));
    expect(children.map((child) => child.args)).toEqual([
      ['many', 0],
      ['many', 1],
      ['many', 2],
    ]);
    expect(other.results.map((result) => result.id)).toEqual(children.map((child) => child.id));
  });

  it('runs on the pool through the main thread, so its result is visible there and from a thread', async () => {
    configure();
    const childId = await finished(await enqueuesAddition.enqueue(20, 22));
    const child = await addNumbers.getResult(childId);
    expect(child.backend).toBe('default');
    await waitForResult(child);
    expect(child.returnValue).toEqual({ a: 20, b: 22, sum: 42 });

    const read = await finished(await readsAddition.enqueue(childId));
    expect(read).toEqual({
      status: TaskResultStatus.SUCCESSFUL,
      returnValue: { a: 20, b: 22, sum: 42 },
      name: addNumbers.name,
    });
  });

  it('is found in the main thread by importing taskModules when the main thread has not', async () => {
    configure();
    const childId = await finished(await enqueuesThreadOnlyTask.enqueue('quiet'));
    const child = await taskBackends.get('default').getResult(childId);
    expect(child.task.name).toBe('backendLocal.shouts');
    await waitForResult(child);
    expect(child.returnValue).toBe('QUIET');
  });
});

describe('ThreadPoolBackend: refusals of an enqueue from inside a pool thread', () => {
  async function refusal(...args: Parameters<typeof tryRefusedEnqueue.enqueue>) {
    const error = await finished(await tryRefusedEnqueue.enqueue(...args));
    expect(error).not.toBeNull();
    return error!;
  }

  it('rejects arguments JSON cannot carry with a TaskJsonError naming the path', async () => {
    const { other } = configure();
    expect(await refusal('badArgs', 'other')).toEqual<ThreadError>({
      className: 'TaskJsonError',
      isTaskJsonError: true,
      path: 'args[0].when',
      message: 'args[0].when: Date is not JSON',
    });
    expect(other.results).toHaveLength(0);
  });

  it('rejects an alias that is not configured with InvalidTaskBackend, as in the main thread', async () => {
    configure();
    const inMain = captureError(() => recordedChild.using({ backend: 'nope' }));
    expect(inMain).toBeInstanceOf(InvalidTaskBackend);
    expect(await refusal('unknownAlias', 'nope')).toMatchObject({
      className: 'InvalidTaskBackend',
      message: inMain.message,
    });
  });

  it('rejects an alias the main thread could not create with InvalidTaskBackend naming it', async () => {
    configure();
    const error = await refusal('unknownAlias', 'broken');
    expect(error.className).toBe('InvalidTaskBackend');
    expect(error.message).toContain("Backend 'broken' (ThreadPoolBackend)");
    expect(error.message).toContain('maxWorkers must be a whole number of at least 1 (got 0)');
  });

  it('validates against the main backend’s capabilities: no retries there is InvalidTask here', async () => {
    configure();
    const inMain = captureError(() => recordedChild.using({ backend: 'noRetries' }));
    expect(inMain).toBeInstanceOf(InvalidTask);
    expect(inMain.message).toContain('does not support retries');
    expect(await refusal('retries', 'noRetries')).toMatchObject({
      className: 'InvalidTask',
      message: inMain.message,
    });
  });

  it('rejects a task the main thread cannot find, naming it and the task modules', async () => {
    configure();
    const error = await refusal('unknownTask', 'other');
    expect(error.className).toBe('InvalidTask');
    expect(error.message).toContain("Task 'backendLocal.definedInAThread'");
    expect(error.message).toContain('not defined in the main thread');
    expect(error.message).toContain(FORWARDING_TASKS_MODULE);
  });

  it('refuses getResult when the main backend does not support it, with the usual error', async () => {
    configure();
    expect(await refusal('getResultUnsupported', 'other')).toMatchObject({
      className: 'TaskBackendUnsupported',
      message: "Backend 'other' (DummyBackend) does not support retrieving or refreshing results.",
    });
  });

  it('refuses an enqueue that arrives after close() with a clear error', async () => {
    const { pool, other } = configure({ closeTimeoutMs: 50 });
    const late = await enqueuesAfterClose.enqueue('other');
    await waitForResult(late, { until: (r) => r.status === TaskResultStatus.RUNNING });
    await pool.close();
    await late.refresh();
    expect(late.status).toBe(TaskResultStatus.SUCCESSFUL);
    expect(late.returnValue).toMatchObject({ className: 'TaskBackendClosed' });
    expect(late.returnValue?.message).toMatch(
      /^ThreadPoolBackend 'default' is closed; a task in worker thread \S+ cannot enqueue task 'backendLocal.recordedChild' through it any more\.$/,
    );
    expect(other.results).toHaveLength(0);
  });
});

function captureError(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}
