import { randomId } from '../ids.ts';
import { runTaskAttempt } from '../lifecycle.ts';
import { createTaskResult, type TaskResult } from '../result.ts';
import { taskEnqueued } from '../signals.ts';
import { TaskResultStatus } from '../status.ts';
import type { Task, TaskArgs } from '../task.ts';
import { BaseTaskBackend, type BackendInit } from './base.ts';

/**
 * Runs each task inside `enqueue`, in the caller's process, and resolves with the finished
 * result. A task that throws gives a FAILED result; the error is not re-thrown. Further
 * attempts of a task with `maxAttempts` > 1 run at once, without the backoff delay.
 */
export class ImmediateBackend extends BaseTaskBackend<Record<string, never>> {
  override readonly supportsPriority: boolean = true;
  override readonly supportsRetries: boolean = true;
  /** One id for every attempt this backend instance runs. */
  readonly workerId = randomId();

  constructor(init: BackendInit<Record<string, never>>) {
    super(init);
  }

  override async enqueue<TReturn>(
    task: Task<TaskArgs, TReturn, any>,
    args: TaskArgs,
  ): Promise<TaskResult<TReturn>> {
    const result = createTaskResult(task, args);
    taskEnqueued.send({ sender: ImmediateBackend, taskResult: result });
    do {
      await runTaskAttempt(result, { backend: this, workerId: this.workerId, deferRetries: false });
    } while (result.status === TaskResultStatus.READY);
    return result;
  }
}
