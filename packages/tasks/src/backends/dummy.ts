import { TaskResultDoesNotExist } from '../exceptions.ts';
import { copyTaskResult, createTaskResult, type TaskResult } from '../result.ts';
import { taskEnqueued } from '../signals.ts';
import type { Task, TaskArgs } from '../task.ts';
import { BaseTaskBackend, type BackendInit } from './base.ts';

/**
 * Stores enqueued tasks without running them, for tests. Results stay READY; inspect
 * them with `results` and empty the list with `clear()`.
 */
export class DummyBackend extends BaseTaskBackend<Record<string, never>> {
  override readonly supportsDefer: boolean = true;
  override readonly supportsPriority: boolean = true;
  override readonly supportsRetries: boolean = true;
  readonly #results: TaskResult<any>[] = [];

  constructor(init: BackendInit<Record<string, never>>) {
    super(init);
  }

  /** The stored results, in enqueue order. */
  get results(): readonly TaskResult[] {
    return this.#results;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- a Promise like every backend
  override async enqueue<TReturn>(
    task: Task<TaskArgs, TReturn, any>,
    args: TaskArgs,
  ): Promise<TaskResult<TReturn>> {
    const result = createTaskResult(task, args);
    this.#results.push(result);
    taskEnqueued.send({ sender: DummyBackend, taskResult: result });
    return copyTaskResult(result);
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- a Promise like every backend
  override async getResult(id: string): Promise<TaskResult> {
    const found = this.#results.find((result) => result.id === id);
    if (!found) throw new TaskResultDoesNotExist(`Task result '${id}' does not exist.`);
    return found;
  }

  /** Forget every stored result. */
  clear(): void {
    this.#results.length = 0;
  }
}
