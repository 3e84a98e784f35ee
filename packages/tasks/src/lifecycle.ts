import type { BaseTaskBackend } from './backends/base.ts';
import { TaskContext } from './context.ts';
import { normalizeReturnValue, type JsonValue } from './json.ts';
import { getTaskLogger } from './log.ts';
import { updateTaskResult, type TaskResult } from './result.ts';
import { taskFinished, taskStarted } from './signals.ts';
import { TaskResultStatus } from './status.ts';
import type { Task } from './task.ts';
import { TaskError } from './task-error.ts';

const neverAborted = new AbortController().signal;

/** Options of {@link runTaskAttempt}. */
export interface RunTaskAttemptOptions {
  /** The backend running the attempt; its class is the signals' sender. */
  backend: BaseTaskBackend<any>;
  /** The id of the worker running the attempt, appended to `workerIds`. */
  workerId: string;
  /** Fires when the backend wants the task to stop; handed to the task's `TaskContext`. */
  signal?: AbortSignal;
  /**
   * Run the function and resolve with its JSON-normalised return value. The default,
   * {@link invokeTask}, runs it here; a backend that runs it elsewhere (a worker thread)
   * passes a function that does it there, with `invokeTask` on the other side.
   */
  execute?: (taskResult: TaskResult, signal: AbortSignal) => Promise<JsonValue>;
  /** Store the attempt's outcome before `taskFinished` is sent (database backends). */
  persist?: (taskResult: TaskResult) => Promise<void>;
  /** Give a retried attempt a later `runAfter` from the task's backoff. @defaultValue backend.supportsDefer */
  deferRetries?: boolean;
}

/**
 * Call the task's function for `taskResult` (with a `TaskContext` first if it takes one)
 * and resolve with its return value normalised through JSON.
 */
export async function invokeTask(
  taskResult: TaskResult,
  signal: AbortSignal = neverAborted,
): Promise<JsonValue> {
  const { task, args } = taskResult;
  const value = task.takesContext
    ? await task.func(new TaskContext(taskResult, signal), ...args)
    : await task.func(...args);
  return normalizeReturnValue(value);
}

/**
 * The delay in milliseconds before the attempt after `attempt`, or `null` when the task
 * must not be retried (no attempts left, or its backoff declines).
 */
export function retryDelay(
  task: Task<any, any, any>,
  attempt: number,
  error: TaskError,
): number | null {
  if (attempt >= task.maxAttempts) return null;
  try {
    const delay = task.backoff(attempt, error);
    if (delay === null || delay === false) return null;
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
      getTaskLogger().error(
        `backoff of task '${task.name}' returned ${String(delay)}; not retrying`,
      );
      return null;
    }
    return delay;
  } catch (backoffError) {
    getTaskLogger().error(`backoff of task '${task.name}' threw; not retrying`, backoffError);
    return null;
  }
}

/** Mark `taskResult` as RUNNING for a new attempt by `workerId` at `now`. */
export function markAttemptStarted(taskResult: TaskResult, workerId: string, now: Date): void {
  updateTaskResult(taskResult, {
    status: TaskResultStatus.RUNNING,
    startedAt: taskResult.startedAt ?? now,
    lastAttemptedAt: now,
    workerIds: [...taskResult.workerIds, workerId],
  });
}

/**
 * Record that the running attempt of `taskResult` failed with `error`: back to READY (with a
 * later `runAfter` when `defer`) if the task may be retried, otherwise FAILED.
 */
export function recordAttemptFailure(
  taskResult: TaskResult,
  error: TaskError,
  defer: boolean,
  now = new Date(),
): void {
  const delay = retryDelay(taskResult.task, taskResult.attempts, error);
  const errors = [...taskResult.errors, error];
  if (delay === null) {
    updateTaskResult(taskResult, { status: TaskResultStatus.FAILED, finishedAt: now, errors });
    return;
  }
  const task = defer
    ? taskResult.task.using({ runAfter: new Date(now.getTime() + delay) })
    : taskResult.task;
  updateTaskResult(taskResult, { status: TaskResultStatus.READY, errors, task });
}

/**
 * Run one attempt of a task through its whole lifecycle: mark it RUNNING (unless the
 * backend's claim already did), send `taskStarted`, run it with or without a `TaskContext`,
 * record the return value or a `TaskError`, decide the status (SUCCESSFUL, FAILED, or READY
 * for a retry), persist, and send `taskFinished` when the task is finished.
 *
 * Every backend runs tasks through this function. It never throws for a failing task;
 * it rejects only if `persist` does.
 */
export async function runTaskAttempt<TReturn>(
  taskResult: TaskResult<TReturn>,
  options: RunTaskAttemptOptions,
): Promise<TaskResult<TReturn>> {
  const { backend, workerId, signal = neverAborted, execute = invokeTask, persist } = options;
  const sender = backend.constructor as abstract new (...args: never[]) => unknown;
  const result = taskResult as TaskResult;
  if (result.status !== TaskResultStatus.RUNNING) markAttemptStarted(result, workerId, new Date());
  taskStarted.send({ sender, taskResult: result });
  try {
    const value = await execute(result, signal);
    updateTaskResult(result, {
      status: TaskResultStatus.SUCCESSFUL,
      finishedAt: new Date(),
      returnValue: value,
    });
  } catch (error) {
    recordAttemptFailure(
      result,
      TaskError.fromException(error),
      options.deferRetries ?? backend.supportsDefer,
    );
  }
  if (persist) await persist(result);
  if (result.isFinished) {
    taskFinished.send({ sender, taskResult: result });
  } else {
    getTaskLogger().warn(
      `Task id=${result.id} name=${result.task.name} attempt ${result.attempts} failed; retrying` +
        (result.task.runAfter ? ` after ${result.task.runAfter.toISOString()}` : ''),
    );
  }
  return taskResult;
}
