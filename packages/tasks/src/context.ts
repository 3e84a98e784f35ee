import type { TaskResult } from './result.ts';

const neverAborted = new AbortController().signal;

/** What a task defined with `takesContext: true` receives as its first argument. */
export class TaskContext<TReturn = unknown> {
  /** The result of the running task: status `RUNNING`. */
  readonly taskResult: TaskResult<TReturn>;
  /**
   * Fires when the backend wants the task to stop (shutdown, cancellation, timeout).
   * A backend that never aborts passes a signal that never fires.
   */
  readonly signal: AbortSignal;

  constructor(taskResult: TaskResult<TReturn>, signal: AbortSignal = neverAborted) {
    this.taskResult = taskResult;
    this.signal = signal;
    Object.freeze(this);
  }

  /** The number of the running attempt, starting at 1. */
  get attempt(): number {
    return this.taskResult.attempts;
  }
}
