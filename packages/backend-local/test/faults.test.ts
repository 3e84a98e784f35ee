import { describe, expect, it } from 'vitest';
import { InvalidTaskBackend, TaskResultStatus } from '@djtasks/tasks';
import {
  addNumbers,
  exits,
  fails,
  FIXTURES_MODULE,
  noop,
  rejects,
  returnsDate,
  waitForResult,
} from '@djtasks/tasks/testing';
import { ThreadPoolBackend } from '@djtasks/backend-local';
import {
  allocatesForever,
  defineUnknownTask,
  leaksRejection,
  THREAD_TASKS_MODULE,
  threadInfo,
  throwsFromTimer,
} from './fixtures/thread-tasks.ts';
import { useThreadPool } from './helpers.ts';

const unknownTask = defineUnknownTask();

describe('ThreadPoolBackend faults', () => {
  it('fails each faulty task with a clear TaskError and still runs every other task', async () => {
    const { backend } = useThreadPool({ maxWorkers: 2 });
    const good = await addNumbers.enqueueMany(Array.from({ length: 20 }, (_, i) => [i, 1]));
    const thrown = await fails.enqueue('thrown');
    const rejected = await rejects.enqueue('rejected');
    const notJson = await returnsDate.enqueue();
    const exited = await exits.enqueue(7);
    const more = await addNumbers.enqueueMany(Array.from({ length: 20 }, (_, i) => [i, 2]));

    for (const result of [...good, ...more]) await waitForResult(result);
    expect(good.map((r) => r.returnValue.sum)).toEqual(good.map((_, i) => i + 1));
    expect(more.map((r) => r.returnValue.sum)).toEqual(more.map((_, i) => i + 2));

    await waitForResult(thrown);
    expect(thrown.status).toBe(TaskResultStatus.FAILED);
    expect(thrown.errors[0]).toMatchObject({ exceptionClassPath: 'TypeError', message: 'thrown' });
    expect(thrown.errors[0]?.traceback).toContain('fixtures.ts');

    await waitForResult(rejected);
    expect(rejected.errors[0]).toMatchObject({
      exceptionClassPath: 'RangeError',
      message: 'rejected',
    });

    await waitForResult(notJson);
    expect(notJson.errors[0]).toMatchObject({
      exceptionClassPath: 'TaskJsonError',
      message: 'returnValue: Date is not JSON',
    });

    await waitForResult(exited);
    expect(exited.status).toBe(TaskResultStatus.FAILED);
    expect(exited.errors[0]?.exceptionClassPath).toBe('WorkerThreadError');
    expect(exited.errors[0]?.message).toMatch(/exited with code 7 while running the task/);
    expect(backend.stats.threads).toBeLessThanOrEqual(2);
  });

  it('replaces a thread that runs out of its memory limit', async () => {
    const { backend, logger } = useThreadPool({
      maxWorkers: 1,
      resourceLimits: { maxOldGenerationSizeMb: 48 },
    });
    const before = await waitForResult(await threadInfo.enqueue());
    const crashed = await waitForResult(await allocatesForever.enqueue(), { timeoutMs: 30_000 });
    expect(crashed.status).toBe(TaskResultStatus.FAILED);
    expect(crashed.errors[0]?.exceptionClassPath).toBe('WorkerThreadError');
    expect(crashed.errors[0]?.message).toContain('crashed while running the task');
    expect(crashed.errors[0]?.message).toContain('ERR_WORKER_OUT_OF_MEMORY');

    const after = await waitForResult(await threadInfo.enqueue());
    expect(after.status).toBe(TaskResultStatus.SUCCESSFUL);
    expect(after.returnValue.threadId).not.toBe(before.returnValue.threadId);
    expect(after.workerIds[0]).not.toBe(before.workerIds[0]);
    expect(backend.stats.threads).toBe(1);
    expect(logger.lines.some((line) => line.text.includes('replacing it'))).toBe(true);
  });

  it('fails the running task when its thread has an uncaught exception', async () => {
    useThreadPool({ maxWorkers: 1 });
    const crashed = await waitForResult(await throwsFromTimer.enqueue());
    expect(crashed.status).toBe(TaskResultStatus.FAILED);
    expect(crashed.errors[0]?.exceptionClassPath).toBe('WorkerThreadError');
    expect(crashed.errors[0]?.message).toContain('thrown from a timer');
    expect(crashed.errors[0]?.traceback).toContain('thread-tasks.ts');
    const after = await waitForResult(await addNumbers.enqueue(2, 2));
    expect(after.returnValue.sum).toBe(4);
  });

  it('logs an unhandled rejection in a thread and keeps the thread', async () => {
    const { logger } = useThreadPool({ maxWorkers: 1 });
    const leaked = await waitForResult(await leaksRejection.enqueue());
    expect(leaked.status).toBe(TaskResultStatus.SUCCESSFUL);
    const next = await waitForResult(await threadInfo.enqueue());
    expect(next.status).toBe(TaskResultStatus.SUCCESSFUL);
    expect(next.returnValue.threadId).toBe(leaked.returnValue);
    expect(next.workerIds).toEqual(leaked.workerIds);
    const logged = logger.lines.find((line) => line.text.includes('unhandled promise rejection'));
    expect(logged?.level).toBe('error');
    expect(logged?.text).toContain('stray rejection nobody handled');
  });

  it('fails a task no thread knows, naming the modules the threads imported', async () => {
    useThreadPool({ maxWorkers: 1 }, [FIXTURES_MODULE]);
    const result = await waitForResult(await unknownTask.enqueue());
    expect(result.status).toBe(TaskResultStatus.FAILED);
    expect(result.errors[0]?.exceptionClassPath).toBe('InvalidTask');
    const message = result.errors[0]?.message ?? '';
    expect(message).toContain("Task 'backendLocal.onlyInTheTestProcess' is not defined");
    expect(message).toContain(`It imported task modules ${FIXTURES_MODULE}`);
    expect(message).toContain('djtasks.fixtures.noop');
    expect(message).toContain('Add the module that defines it to taskModules');
    const known = await waitForResult(await noop.enqueue());
    expect(known.status).toBe(TaskResultStatus.SUCCESSFUL);
  });

  it('fails tasks with the import error when a task module cannot be imported', async () => {
    const missing = new URL('./fixtures/does-not-exist.ts', import.meta.url).href;
    const { logger } = useThreadPool({ maxWorkers: 2 }, [FIXTURES_MODULE, missing]);
    const results = await noop.enqueueMany([[], [], []]);
    for (const result of results) {
      await waitForResult(result);
      expect(result.status).toBe(TaskResultStatus.FAILED);
      expect(result.errors[0]?.message).toContain(`Could not import task module '${missing}'`);
    }
    const later = await waitForResult(await noop.enqueue());
    expect(later.errors[0]?.message).toContain('Could not import task module');
    expect(logger.lines.some((line) => line.text.includes('could not start'))).toBe(true);
  });

  it('fails tasks with the error of a threadSetup hook that throws', async () => {
    useThreadPool({
      maxWorkers: 1,
      threadSetup: new URL('./fixtures/setup-fails.ts', import.meta.url),
    });
    const result = await waitForResult(await noop.enqueue());
    expect(result.status).toBe(TaskResultStatus.FAILED);
    expect(result.errors[0]?.message).toBe('setup could not connect to the database');
  });

  it('does not keep starting threads that end before they are ready', async () => {
    const { backend, logger } = useThreadPool({
      maxWorkers: 2,
      threadSetup: new URL('./fixtures/setup-exits.ts', import.meta.url),
    });
    const results = await noop.enqueueMany([[], [], []]);
    for (const result of results) {
      await waitForResult(result);
      expect(result.status).toBe(TaskResultStatus.FAILED);
      expect(result.errors[0]?.message).toBe('the thread exited with code 5 while starting');
    }
    const later = await waitForResult(await noop.enqueue());
    expect(later.status).toBe(TaskResultStatus.FAILED);
    expect(backend.stats.threads).toBe(0);
    // Only the threads started for the first burst (at most maxWorkers) were ever started.
    const starts = logger.lines.filter((line) => line.text.includes('could not start'));
    expect(starts.length).toBeGreaterThanOrEqual(1);
    expect(starts.length).toBeLessThanOrEqual(2);
  });
});

describe('ThreadPoolBackend options', () => {
  const build = (options: unknown) =>
    new ThreadPoolBackend({
      alias: 'local',
      queues: [],
      options: options as never,
      taskModules: [THREAD_TASKS_MODULE],
    });

  it('fills in the defaults', () => {
    const backend = build({});
    expect(backend.settings).toMatchObject({
      maxResults: 1000,
      closeTimeoutMs: 10_000,
      abortTimeoutMs: 1_000,
      threadSetup: null,
    });
    expect(backend.settings.maxWorkers).toBeGreaterThanOrEqual(1);
    expect(backend.stats).toEqual({ threads: 0, queued: 0, deferred: 0, running: 0, results: 0 });
  });

  it.each([
    [{ maxWorkers: 0 }, 'maxWorkers must be a whole number of at least 1 (got 0)'],
    [{ maxWorkers: 1.5 }, 'maxWorkers must be a whole number of at least 1 (got 1.5)'],
    [{ maxResults: -1 }, 'maxResults must be a whole number of at least 0 (got -1)'],
    [{ closeTimeoutMs: '10' }, 'closeTimeoutMs must be a whole number of at least 0 (got "10")'],
    [{ threadSetup: 42 }, 'threadSetup must be a module path, URL or package name (got 42)'],
    [{ resourceLimits: { heapMb: 1 } }, "resourceLimits has no limit 'heapMb'"],
    [
      { resourceLimits: { maxOldGenerationSizeMb: 0 } },
      'resourceLimits.maxOldGenerationSizeMb must be a positive number (got 0)',
    ],
    [{ max_workers: 2 }, "has no option 'max_workers' (options: maxWorkers, maxResults"],
  ])('rejects %j', (options, message) => {
    expect(() => build(options)).toThrow(InvalidTaskBackend);
    expect(() => build(options)).toThrow(message);
  });

  it('reports missing task modules in check()', () => {
    const backend = new ThreadPoolBackend({ alias: 'x', queues: [], options: {}, taskModules: [] });
    expect(backend.check()[0]).toContain('none are configured');
    expect(build({}).check()).toEqual([]);
  });
});
