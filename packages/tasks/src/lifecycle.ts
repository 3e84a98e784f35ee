/**
 * The one runner of a task attempt. It moves the result through the transitions of
 * `transitions.ts` and does what they ask: send the signals, arm the timeout, hand the
 * attempt's `signal` to the task, wait for it, store the outcome.
 */
import type { BaseTaskBackend } from './backends/base.ts';
import { TaskContext } from './context.ts';
import { TaskCancelled, TaskTimeout } from './exceptions.ts';
import { normalizeReturnValue, type JsonValue } from './json.ts';
import { hasTaskInstrumentation, instrumentAttempt } from './instrumentation.ts';
import { getTaskLogger } from './log.ts';
import type { TaskResult } from './result.ts';
import { taskStarted } from './signals.ts';
import { TaskResultStatus } from './status.ts';
import {
  cancel,
  fail,
  sendTransitionSignal,
  startAttempt,
  succeed,
  timeOut,
  type Transition,
} from './transitions.ts';

const neverAborted = new AbortController().signal;

/** How long a task whose signal aborted (timeout, cancellation) may take to stop, by default. */
export const DEFAULT_ABORT_GRACE_MS = 1000;

/**
 * The attempts a backend is running, by result id, so that `cancel(id)` can abort the
 * right one. Pass one to {@link runTaskAttempt} as `attempts`.
 */
export class RunningAttempts {
  readonly #attempts = new Map<
    string,
    { controller: AbortController; onAbort: ((reason: Error) => void) | undefined }
  >();

  /** Whether an attempt of `id` is running. */
  has(id: string): boolean {
    return this.#attempts.has(id);
  }

  /** The number of running attempts. */
  get size(): number {
    return this.#attempts.size;
  }

  /** Abort the running attempt of `id` with `reason`; false if none runs. */
  abort(id: string, reason: Error): boolean {
    const attempt = this.#attempts.get(id);
    if (!attempt) return false;
    if (!attempt.controller.signal.aborted) {
      attempt.controller.abort(reason);
      attempt.onAbort?.(reason);
    }
    return true;
  }

  /** Abort every running attempt with `reason`. */
  abortAll(reason: Error): void {
    for (const id of this.#attempts.keys()) this.abort(id, reason);
  }

  /** Register the attempt of `id`; `onAbort` is called when `abort` aborts it. */
  add(id: string, controller: AbortController, onAbort?: (reason: Error) => void): void {
    this.#attempts.set(id, { controller, onAbort });
  }

  delete(id: string): void {
    this.#attempts.delete(id);
  }
}

/** Options of {@link runTaskAttempt}. */
export interface RunTaskAttemptOptions {
  /** The backend running the attempt; its class is the signals' sender. */
  backend: BaseTaskBackend<unknown>;
  /** The id of the worker running the attempt, appended to `workerIds`. */
  workerId: string;
  /** When the attempt started (a worker thread's report). @defaultValue now */
  startedAt?: Date;
  /**
   * Fires when the backend wants every task to stop (shutdown). The task's own signal
   * aborts with the same reason; the attempt is then recorded with the error the task raises.
   */
  signal?: AbortSignal;
  /** Where the attempt is registered while it runs, so that the backend can cancel it. */
  attempts?: RunningAttempts;
  /**
   * Called when the runner aborts the attempt's signal for its timeout, or `attempts.abort`
   * for a cancellation, with the reason: for a backend that must pass it on (to a thread).
   */
  onAbort?: (reason: Error) => void;
  /**
   * Run the function and resolve with its JSON-normalised return value. The default,
   * {@link invokeTask}, runs it here; a backend that runs it elsewhere (a worker thread)
   * passes a function that does it there, with `invokeTask` on the other side, and reacts
   * to `signal` by aborting it there.
   */
  execute?: (taskResult: TaskResult, signal: AbortSignal) => Promise<JsonValue>;
  /**
   * Keep the RUNNING result before `taskStarted` is sent, so that a receiver that asks the
   * backend for it sees it running (an in-memory backend's result store).
   */
  onStart?: (taskResult: TaskResult) => void;
  /**
   * Store the attempt's outcome before its signal is sent, so that a receiver that asks the
   * backend for the result sees it (a database row, an in-memory store). A synchronous
   * store may return nothing.
   */
  persist?: (taskResult: TaskResult) => Promise<void> | void;
  /** Give a retried attempt a later `runAfter` from the task's backoff. @defaultValue backend.supportsDefer */
  deferRetries?: boolean;
  /**
   * After the task's signal aborted for a timeout or a cancellation, how long to wait for
   * `execute` to settle before recording the attempt anyway (a late outcome is discarded).
   * `Infinity` when `execute` itself guarantees to settle (a thread that is terminated).
   * @defaultValue 1000
   */
  abortGraceMs?: number;
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

type Outcome = { value: JsonValue } | { error: unknown } | { abandoned: true };

/**
 * Wait for `running`; once `signal` aborts for a timeout or a cancellation, wait at most
 * `graceMs` more.
 */
function settleWithin(
  running: Promise<Outcome>,
  signal: AbortSignal,
  graceMs: number,
): Promise<Outcome> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      if (signal.reason instanceof TaskTimeout || signal.reason instanceof TaskCancelled) {
        timer = setTimeout(resolve, graceMs, { abandoned: true });
      }
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    void running.then((outcome) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    });
  });
}

/**
 * Run one attempt of a task through its whole life: start it (unless the backend's claim
 * already made it RUNNING) and send `taskStarted`; run it with its `signal`, aborted by
 * `timeout` (a `TaskTimeout`), by the backend's `cancel` (a `TaskCancelled`) or by a
 * shutdown; then record success, failure (retry or FAILED), timeout or cancellation, persist
 * it, and send `taskFinished` when the task is finished. Resolves with the new result (the
 * given one is not changed).
 *
 * Every backend runs tasks through this function. It never throws for a failing task;
 * it rejects only if `persist` does.
 */
export function runTaskAttempt<TReturn>(
  taskResult: TaskResult<TReturn>,
  options: RunTaskAttemptOptions,
): Promise<TaskResult<TReturn>> {
  const { backend, workerId } = options;
  const sender = backend.constructor as abstract new (...args: never[]) => unknown;
  const deferRetry = options.deferRetries ?? backend.supportsDefer;
  let current = taskResult as TaskResult;
  if (current.status === TaskResultStatus.READY) {
    current = startAttempt(current, workerId, options.startedAt).result;
  }
  const running = current;
  const attempt = (): Promise<TaskResult> => runStarted(running, options, sender, deferRetry);
  // Returned as it is, not awaited here: one promise and one turn less per attempt.
  return (hasTaskInstrumentation() ? instrumentAttempt(running, attempt) : attempt()) as Promise<
    TaskResult<TReturn>
  >;
}

/** The rest of {@link runTaskAttempt}, from the RUNNING result on: what instrumentation wraps. */
async function runStarted(
  current: TaskResult,
  options: RunTaskAttemptOptions,
  sender: abstract new (...args: never[]) => unknown,
  deferRetry: boolean,
): Promise<TaskResult> {
  const { execute = invokeTask, persist, attempts } = options;
  options.onStart?.(current);
  const controller = new AbortController();
  // Registered before taskStarted, so that a receiver can cancel the attempt it is told of.
  attempts?.add(current.id, controller, options.onAbort);
  // Sent for a result that the backend's claim made RUNNING (a database UPDATE), too.
  sendTransitionSignal({ result: current, signal: taskStarted, retryAt: null }, sender);

  const shutdown = options.signal;
  const onShutdown = (): void => {
    controller.abort(shutdown?.reason);
  };
  if (shutdown?.aborted) onShutdown();
  else shutdown?.addEventListener('abort', onShutdown, { once: true });
  const { timeout } = current.task;
  const timer =
    timeout === null
      ? undefined
      : setTimeout(() => {
          const reason = new TaskTimeout(timeout);
          controller.abort(reason);
          options.onAbort?.(reason);
        }, timeout * 1000);

  let outcome: Outcome;
  let reason: unknown;
  const graceMs = options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS;
  try {
    if (graceMs === Number.POSITIVE_INFINITY) {
      // `execute` settles by itself (a thread that is terminated): wait for it directly,
      // without the race below (fewer promises on a path that runs for every task).
      try {
        outcome = { value: await execute(current, controller.signal) };
      } catch (error) {
        outcome = { error };
      }
    } else {
      let running: Promise<Outcome>;
      try {
        running = execute(current, controller.signal).then(
          (value): Outcome => ({ value }),
          (error: unknown): Outcome => ({ error }),
        );
      } catch (error) {
        // An execute that throws instead of rejecting fails the attempt the same way.
        running = Promise.resolve({ error });
      }
      outcome = await settleWithin(running, controller.signal, graceMs);
    }
    reason = controller.signal.aborted ? controller.signal.reason : undefined;
  } finally {
    clearTimeout(timer);
    shutdown?.removeEventListener('abort', onShutdown);
    attempts?.delete(current.id);
  }

  const now = new Date();
  let transition: Transition;
  if (reason instanceof TaskTimeout) {
    transition = timeOut(current, { now, deferRetry });
  } else if (reason instanceof TaskCancelled) {
    transition = cancel(current, now);
  } else if ('value' in outcome) {
    transition = succeed(current, outcome.value, now);
  } else if ('error' in outcome) {
    transition = fail(current, outcome.error, { now, deferRetry });
  } else {
    transition = fail(current, reason, { now, deferRetry });
  }
  // A synchronous store (memory) returns nothing: no promise to wait for.
  const stored = persist?.(transition.result);
  if (stored) await stored;
  sendTransitionSignal(transition, sender);
  if (transition.retryAt !== null) {
    const { result } = transition;
    getTaskLogger().warn(
      `Task id=${result.id} name=${result.task.name} attempt ${result.attempts} failed; retrying` +
        (result.task.runAfter ? ` after ${result.task.runAfter.toISOString()}` : ''),
    );
  }
  return transition.result;
}
