import { TaskCancelled, TaskResultDoesNotExist } from '../exceptions.ts';
import { randomId } from '../ids.ts';
import type { RunningAttempts } from '../lifecycle.ts';
import { copyTaskResult, createTaskResult, type TaskResult } from '../result.ts';
import { taskEnqueued } from '../signals.ts';
import { TaskResultStatus } from '../status.ts';
import type { Task, TaskArgs } from '../task.ts';
import { BaseTaskBackend, type BackendInit } from './base.ts';

// The lifecycle is loaded on the first enqueue, not with this class: the default
// configuration names this backend, and defining a task must not load the task runner.
let runner: Promise<[typeof import('../lifecycle.ts'), typeof import('../transitions.ts')]>;
const loadRunner = () =>
  (runner ??= Promise.all([import('../lifecycle.ts'), import('../transitions.ts')]));

/**
 * Runs each task inside `enqueue`, in the caller's process, and resolves with the finished
 * result. A task that throws gives a FAILED result; the error is not re-thrown. Further
 * attempts of a task with `maxAttempts` > 1 run at once, without the backoff delay.
 *
 * A task's `timeout` aborts its signal with a `TaskTimeout`; a task that ignores it keeps
 * running in the background, and the attempt is recorded as timed out one second later.
 * `cancel(id)` works while `enqueue` runs the task (from a signal receiver, or from code
 * that learnt the id): the task's signal aborts with a `TaskCancelled` and it ends CANCELLED.
 */
export class ImmediateBackend extends BaseTaskBackend<Record<string, never>> {
  override readonly supportsPriority: boolean = true;
  override readonly supportsRetries: boolean = true;
  override readonly supportsTimeout: boolean = true;
  override readonly supportsCancel: boolean = true;
  /** One id for every attempt this backend instance runs. */
  readonly workerId = randomId();
  /** The results `enqueue` is running now, by id, in their latest state. */
  readonly #live = new Map<string, TaskResult<any>>();
  #attempts: RunningAttempts | undefined;

  constructor(init: BackendInit<Record<string, never>>) {
    super(init);
  }

  override async enqueue<TReturn>(
    task: Task<TaskArgs, TReturn, any>,
    args: TaskArgs,
  ): Promise<TaskResult<TReturn>> {
    let result = createTaskResult(task, args);
    const [{ invokeTask, RunningAttempts, runTaskAttempt }] = await loadRunner();
    const attempts = (this.#attempts ??= new RunningAttempts());
    const { id } = result;
    this.#live.set(id, result);
    try {
      taskEnqueued.send({ sender: ImmediateBackend, taskResult: result });
      for (;;) {
        // A cancel() that came before this attempt has already made the result CANCELLED.
        result = this.#live.get(id)!;
        if (result.status !== TaskResultStatus.READY) break;
        result = await runTaskAttempt(result, {
          backend: this,
          workerId: this.workerId,
          deferRetries: false,
          attempts,
          execute: (running, signal) => {
            this.#live.set(id, running);
            return invokeTask(running, signal);
          },
        });
        this.#live.set(id, result);
      }
      return result;
    } finally {
      this.#live.delete(id);
    }
  }

  override async cancel(id: string): Promise<TaskResult> {
    const [, { cancel, sendTransitionSignal }] = await loadRunner();
    const live = this.#live.get(id);
    if (!live) {
      throw new TaskResultDoesNotExist(
        `Task result '${id}' is not running on backend '${this.alias}' (ImmediateBackend keeps no results, so only a task that enqueue() is running can be cancelled).`,
      );
    }
    if (this.#attempts?.abort(id, new TaskCancelled(id))) return copyTaskResult(live);
    if (live.status === TaskResultStatus.READY) {
      const transition = cancel(live);
      this.#live.set(id, transition.result);
      sendTransitionSignal(transition, ImmediateBackend);
      return copyTaskResult(transition.result);
    }
    return copyTaskResult(live);
  }
}
