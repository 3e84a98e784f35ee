/**
 * The one state machine of a task's life. Every transition is a pure function: it takes a
 * result and returns the next one (the given result is left unchanged), with the signal the
 * backend must send for it. Every backend (immediate, thread pool, database worker, recovery)
 * moves results only through these, so that they all agree.
 *
 *   READY ──startAttempt──▶ RUNNING ──succeed──▶ SUCCESSFUL
 *     ▲                       │ fail / timeOut / lose ──▶ FAILED (no attempt left)
 *     └───────── retry ◀──────┘ (READY again, after the backoff's delay)
 *   READY or RUNNING ──cancel──▶ CANCELLED
 */
import { InvalidTask, TaskAlreadyFinished, TaskTimeout, WorkerLost } from './exceptions.ts';
import type { JsonValue } from './json.ts';
import { getTaskLogger } from './log.ts';
import { withTaskResultChanges, type TaskResult } from './result.ts';
import { taskFinished, taskStarted, type TaskSignal } from './signals.ts';
import { TaskResultStatus } from './status.ts';
import { rebuildTask, type AnyTask } from './task.ts';
import { TaskError } from './task-error.ts';

/** What a transition returns: the next result, and the signal to send for it (or `null`). */
export interface Transition<TReturn = unknown> {
  /** The result after the transition. */
  readonly result: TaskResult<TReturn>;
  /** `taskStarted`, `taskFinished`, or `null` (a retry, or a repeated cancel). */
  readonly signal: TaskSignal | null;
  /**
   * For a failed attempt that will be retried: when the next attempt may start (the
   * backoff's delay from `now`). `null` otherwise.
   */
  readonly retryAt: Date | null;
}

/** Options of the transitions that may lead to a retry. */
export interface FailOptions {
  /** The time of the transition. @defaultValue now */
  now?: Date;
  /**
   * Put the backoff's delay into the retried task's `runAfter` (backends that support
   * deferral); otherwise the task is READY at once and `retryAt` only says when. @defaultValue true
   */
  deferRetry?: boolean;
}

const started = <T>(result: TaskResult<T>): Transition<T> => ({
  result,
  signal: taskStarted,
  retryAt: null,
});
const finished = <T>(result: TaskResult<T>): Transition<T> => ({
  result,
  signal: taskFinished,
  retryAt: null,
});

function expectStatus(result: TaskResult, expected: TaskResultStatus, action: string): void {
  if (result.status !== expected) {
    throw new InvalidTask(
      `Cannot ${action} task result '${result.id}' (${result.task.name}): it is ${result.status}, not ${expected}.`,
    );
  }
}

/**
 * The delay in milliseconds before the attempt after `attempt`, or `null` when the task
 * must not be retried (no attempts left, or its backoff declines or misbehaves).
 */
export function retryDelay(task: AnyTask, attempt: number, error: TaskError): number | null {
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

/** READY → RUNNING: a new attempt by `workerId` starts at `now`. Send `taskStarted`. */
export function startAttempt<T>(
  result: TaskResult<T>,
  workerId: string,
  now: Date = new Date(),
): Transition<T> {
  expectStatus(result, TaskResultStatus.READY, 'start an attempt of');
  return started(
    withTaskResultChanges(result, {
      status: TaskResultStatus.RUNNING,
      startedAt: result.startedAt ?? now,
      lastAttemptedAt: now,
      finishedAt: null,
      workerIds: [...result.workerIds, workerId],
    }),
  );
}

/** RUNNING → SUCCESSFUL with `value` (already normalised through JSON). Send `taskFinished`. */
export function succeed<T>(
  result: TaskResult<T>,
  value: JsonValue,
  now: Date = new Date(),
): Transition<T> {
  expectStatus(result, TaskResultStatus.RUNNING, 'record the success of');
  return finished(
    withTaskResultChanges(result, {
      status: TaskResultStatus.SUCCESSFUL,
      finishedAt: now,
      returnValue: value as T,
    }),
  );
}

/**
 * RUNNING → READY or FAILED: the attempt failed with `error` (a thrown value or a
 * `TaskError`). If the task has attempts left and its backoff agrees, it is READY again
 * (no signal; with `deferRetry`, its `runAfter` is the backoff's delay from now), otherwise
 * FAILED (send `taskFinished`). The task is rebuilt, never re-validated, so a retry does not
 * depend on today's configuration still accepting its queue.
 */
export function fail<T>(
  result: TaskResult<T>,
  error: unknown,
  options: FailOptions = {},
): Transition<T> {
  expectStatus(result, TaskResultStatus.RUNNING, 'record a failure of');
  const now = options.now ?? new Date();
  const taskError = error instanceof TaskError ? error : TaskError.fromException(error);
  const errors = [...result.errors, taskError];
  const delay = retryDelay(result.task, result.attempts, taskError);
  if (delay === null) {
    return finished(
      withTaskResultChanges(result, { status: TaskResultStatus.FAILED, finishedAt: now, errors }),
    );
  }
  const retryAt = new Date(now.getTime() + delay);
  const task =
    (options.deferRetry ?? true) ? rebuildTask(result.task, { runAfter: retryAt }) : result.task;
  return {
    result: withTaskResultChanges(result, { status: TaskResultStatus.READY, errors, task }),
    signal: null,
    retryAt,
  };
}

/** RUNNING → READY or FAILED: the attempt ran past the task's timeout (a `TaskTimeout` error). */
export function timeOut<T>(result: TaskResult<T>, options: FailOptions = {}): Transition<T> {
  return fail(result, new TaskTimeout(result.task.timeout ?? 0), options);
}

/**
 * RUNNING → READY or FAILED: the worker running the attempt went away; `lost` (a
 * `WorkerLost`, or the message of one) is recorded as the attempt's error.
 */
export function lose<T>(
  result: TaskResult<T>,
  lost: WorkerLost | string,
  options: FailOptions = {},
): Transition<T> {
  return fail(result, typeof lost === 'string' ? new WorkerLost(lost) : lost, options);
}

/**
 * READY or RUNNING → CANCELLED: the task never starts, or its running attempt has stopped
 * after its signal was aborted with a `TaskCancelled` reason. Send `taskFinished`; never retried.
 * A result already CANCELLED is returned unchanged with no signal (cancelling twice is
 * harmless). A SUCCESSFUL or FAILED result throws `TaskAlreadyFinished`.
 */
export function cancel<T>(result: TaskResult<T>, now: Date = new Date()): Transition<T> {
  switch (result.status) {
    case TaskResultStatus.CANCELLED:
      return { result, signal: null, retryAt: null };
    case TaskResultStatus.SUCCESSFUL:
    case TaskResultStatus.FAILED:
      throw new TaskAlreadyFinished(result.id, result.status);
    case TaskResultStatus.READY:
    case TaskResultStatus.RUNNING:
      return finished(
        withTaskResultChanges(result, { status: TaskResultStatus.CANCELLED, finishedAt: now }),
      );
  }
}

/** Send the transition's signal, if any, with `sender` (the backend's class). */
export function sendTransitionSignal(
  transition: Transition<unknown>,
  sender: abstract new (...args: never[]) => unknown,
): void {
  const { signal, result } = transition;
  if (!signal) return;
  // A result that will move on gets sent as a copy: a receiver that calls refresh() or
  // cancel() on it must not change the result the backend goes on with. A finished one never
  // moves again.
  signal.send({
    sender,
    taskResult: result.isFinished ? result : withTaskResultChanges(result, {}),
  });
}
