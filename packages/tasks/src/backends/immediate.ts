import { TaskCancelled, TaskResultDoesNotExist } from '../exceptions.ts';
import { randomId } from '../ids.ts';
import type { RunningAttempts } from '../lifecycle.ts';
import { InProcessScheduler } from '../schedule-runner.ts';
import { copyTaskResult, createTaskResult, type TaskResult } from '../result.ts';
import { taskEnqueued } from '../signals.ts';
import { TaskResultStatus } from '../status.ts';
import type { Task, TaskArgs } from '../task.ts';
import { BaseTaskBackend, type BackendInit } from './base.ts';
import { findUniqueHolder } from './unique.ts';
import { loadedLifecycle, loadLifecycle } from './load-lifecycle.ts';

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
  override readonly supportsUniqueKey: boolean = true;
  /** One id for every attempt this backend instance runs. */
  readonly workerId = randomId();
  /** The results `enqueue` is running now, by id, in their latest state. */
  readonly #live = new Map<string, TaskResult>();
  #attempts: RunningAttempts | undefined;
  readonly #scheduler: InProcessScheduler | undefined;

  constructor(init: BackendInit<Record<string, never>>) {
    super(init);
    // Periodic tasks whose task runs here are enqueued (so run) from timers in this process.
    if (this.schedules.length > 0) {
      this.#scheduler = new InProcessScheduler(init.alias, this.schedules, init.taskModules);
    }
  }

  /** Stop the in-process scheduler of periodic tasks. */
  override async close(): Promise<void> {
    await this.#scheduler?.close();
  }

  override async enqueue<TReturn>(
    task: Task<TaskArgs, TReturn, any>,
    args: TaskArgs,
  ): Promise<TaskResult<TReturn>> {
    // A task with the same unique key that enqueue is running now (this call came from inside it,
    // or from a receiver of its signals): return it as it is now.
    const holder = findUniqueHolder(this.#live.values(), task);
    if (holder) return copyTaskResult(holder) as TaskResult<TReturn>;
    let result = createTaskResult(task, args);
    const { invokeTask, RunningAttempts, runTaskAttempt } = (await loadLifecycle()).lifecycle;
    const attempts = (this.#attempts ??= new RunningAttempts());
    const { id } = result;
    this.#live.set(id, result);
    try {
      taskEnqueued.send({ sender: ImmediateBackend, taskResult: result });
      for (;;) {
        // A cancel() that came before this attempt has already made the result CANCELLED.
        result = this.#live.get(id)! as TaskResult<TReturn>;
        if (result.status !== TaskResultStatus.READY) break;
        result = await runTaskAttempt(result, {
          backend: this,
          workerId: this.workerId,
          deferRetries: false,
          attempts,
          execute: invokeTask,
          onStart: (running) => {
            this.#live.set(id, running);
          },
          // eslint-disable-next-line @typescript-eslint/require-await -- kept in memory
          persist: async (next) => {
            this.#live.set(id, next);
          },
        });
      }
      return result;
    } finally {
      this.#live.delete(id);
    }
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- a Promise like every backend
  override async cancel(id: string): Promise<TaskResult> {
    // No await before the READY check: a cancel from a taskEnqueued receiver must land before
    // enqueue starts the first attempt. A live result means enqueue has loaded the lifecycle.
    const live = this.#live.get(id);
    const loaded = loadedLifecycle();
    if (!live || !loaded) {
      throw new TaskResultDoesNotExist(
        `Task result '${id}' is not running on backend '${this.alias}' (ImmediateBackend keeps no results, so only a task that enqueue() is running can be cancelled).`,
      );
    }
    if (this.#attempts?.abort(id, new TaskCancelled(id))) return copyTaskResult(live);
    if (live.status === TaskResultStatus.READY) {
      const { cancel, sendTransitionSignal } = loaded.transitions;
      const transition = cancel(live);
      this.#live.set(id, transition.result);
      sendTransitionSignal(transition, ImmediateBackend);
      return copyTaskResult(transition.result);
    }
    return copyTaskResult(live);
  }
}
