import { afterEach } from 'vitest';
import {
  configureTasks,
  taskBackends,
  taskFinished,
  type TaskLogger,
  type TaskResult,
  type TaskSignalPayload,
} from '@djtasks/tasks';
import { FIXTURES_MODULE } from '@djtasks/tasks/testing';
import { ThreadPoolBackend, type ThreadPoolBackendOptions } from '@djtasks/backend-local';
import { THREAD_TASKS_MODULE } from './fixtures/thread-tasks.ts';

/** A logger that keeps what it is told, for assertions. */
export function recordingLogger(): TaskLogger & { lines: { level: string; text: string }[] } {
  const lines: { level: string; text: string }[] = [];
  const keep =
    (level: string) =>
    (message: string, ...details: unknown[]) => {
      lines.push({ level, text: [message, ...details.map(String)].join(' ') });
    };
  return {
    lines,
    debug: keep('debug'),
    info: keep('info'),
    warn: keep('warn'),
    error: keep('error'),
  };
}

/**
 * Configure a `ThreadPoolBackend` as `default` with the fixture task modules; it is closed
 * after the test. Returns the backend and the logger.
 */
export function useThreadPool(
  options: ThreadPoolBackendOptions = {},
  taskModules: readonly string[] = [FIXTURES_MODULE, THREAD_TASKS_MODULE],
) {
  const logger = recordingLogger();
  configureTasks({
    backends: { default: { backend: ThreadPoolBackend, options: { maxWorkers: 2, ...options } } },
    taskModules,
    logger,
  });
  return { backend: taskBackends.get('default') as ThreadPoolBackend, logger };
}

afterEach(async () => {
  await taskBackends.close();
  configureTasks();
});

/** Resolve once `taskFinished` has been sent `count` times (from now on). */
export function finishedCount(count: number): Promise<TaskResult[]> {
  const seen: TaskResult[] = [];
  return new Promise((resolve) => {
    if (count === 0) resolve(seen);
    const receiver = ({ taskResult }: TaskSignalPayload): void => {
      seen.push(taskResult);
      if (seen.length === count) {
        taskFinished.disconnect(receiver);
        // The backend files the result (and evicts old ones) right after the signal.
        setImmediate(resolve, seen);
      }
    };
    taskFinished.connect(receiver);
  });
}
