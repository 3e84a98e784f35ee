import { TaskResultDoesNotExist } from '../exceptions.ts';
import { copyTaskResult, createTaskResult, type TaskResult } from '../result.ts';
import { taskEnqueued } from '../signals.ts';
import type { Task, TaskArgs } from '../task.ts';
import { BaseTaskBackend, type BackendInit } from './base.ts';
import { findUniqueHolder } from './unique.ts';
import { loadLifecycle } from './load-lifecycle.ts';

/**
 * Stores enqueued tasks without running them, for tests. Results stay READY (or become
 * CANCELLED through `cancel(id)`); inspect them with `results` and empty the list with `clear()`.
 */
export class DummyBackend extends BaseTaskBackend<Record<string, never>> {
  override readonly supportsDefer: boolean = true;
  override readonly supportsPriority: boolean = true;
  override readonly supportsRetries: boolean = true;
  override readonly supportsTimeout: boolean = true;
  override readonly supportsCancel: boolean = true;
  override readonly supportsUniqueKey: boolean = true;
  readonly #results: TaskResult[] = [];

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
    const holder = findUniqueHolder(this.#results, task);
    if (holder) return copyTaskResult(holder) as TaskResult<TReturn>;
    const result = createTaskResult(task, args);
    this.#results.push(result);
    taskEnqueued.send({ sender: DummyBackend, taskResult: result });
    return copyTaskResult(result);
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- a Promise like every backend
  override async getResult(id: string): Promise<TaskResult> {
    return this.#results[this.#indexOf(id)]!;
  }

  override async cancel(id: string): Promise<TaskResult> {
    const { cancel, sendTransitionSignal } = (await loadLifecycle()).transitions;
    const index = this.#indexOf(id);
    const transition = cancel(this.#results[index]!);
    this.#results[index] = transition.result;
    sendTransitionSignal(transition, DummyBackend);
    return copyTaskResult(transition.result);
  }

  #indexOf(id: string): number {
    const index = this.#results.findIndex((result) => result.id === id);
    if (index === -1) throw new TaskResultDoesNotExist(`Task result '${id}' does not exist.`);
    return index;
  }

  /** Forget every stored result. */
  clear(): void {
    this.#results.length = 0;
  }
}
