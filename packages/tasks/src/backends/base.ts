import { InvalidTask, InvalidTaskBackend, TaskBackendUnsupported } from '../exceptions.ts';
import type { TaskResult } from '../result.ts';
import type { AnyTask, Task, TaskArgs } from '../task.ts';
import type { Schedule } from '../schedules.ts';
import { checkPriority, checkRunAfter } from '../validation.ts';

/** What every backend is constructed with, from its entry in the configuration. */
export interface BackendInit<TOptions> {
  /** The alias it is configured under. */
  alias: string;
  /** The queues it accepts; empty accepts any queue name. */
  queues: readonly string[];
  /** Its own options. */
  options: TOptions;
  /** The modules that define the tasks (resolved URLs), for workers that must import them. */
  taskModules: readonly string[];
  /** The configured periodic task schedules (each runs on the backend of its task). @defaultValue [] */
  schedules?: readonly Schedule[];
}

/**
 * The base of every task backend: capability flags, the one `validateTask`, and the
 * methods a backend implements. Only `enqueue` is required.
 */
export abstract class BaseTaskBackend<TOptions = Record<string, never>> {
  /** Tasks may set `runAfter`. */
  readonly supportsDefer: boolean = false;
  /** Tasks run in priority order, so a priority other than 0 means something. */
  readonly supportsPriority: boolean = false;
  /** Results can be fetched by id after they were enqueued. */
  readonly supportsGetResult: boolean = false;
  /** Failed attempts can be retried (`maxAttempts` > 1). */
  readonly supportsRetries: boolean = false;
  /** Tasks may set `timeout`, and an attempt that runs past it is stopped. */
  readonly supportsTimeout: boolean = false;
  /** `cancel(id)` stops a READY, deferred or RUNNING task. */
  readonly supportsCancel: boolean = false;
  /** Tasks may set `uniqueKey`: one READY or RUNNING task per name and key. */
  readonly supportsUniqueKey: boolean = false;

  readonly alias: string;
  readonly queues: ReadonlySet<string>;
  readonly options: TOptions;
  readonly taskModules: readonly string[];
  /** The configured periodic task schedules; those whose task runs on this backend are its to fire. */
  readonly schedules: readonly Schedule[];

  constructor(init: BackendInit<TOptions>) {
    this.alias = init.alias;
    this.queues = new Set(init.queues);
    this.options = init.options;
    this.taskModules = init.taskModules;
    this.schedules = init.schedules ?? [];
    if (typeof (this as { enqueue?: unknown }).enqueue !== 'function') {
      throw new InvalidTaskBackend(
        `Backend '${init.alias}' (${new.target.name}) has no enqueue method; a task backend must implement enqueue(task, args).`,
      );
    }
  }

  /** Throw `InvalidTask` if this backend cannot run `task` as it is defined. */
  validateTask(task: AnyTask): void {
    checkPriority(task.priority);
    if (task.priority !== 0 && !this.supportsPriority) {
      throw new InvalidTask(
        `Backend '${this.alias}' (${this.constructor.name}) does not support setting priority of tasks.`,
      );
    }
    if (task.runAfter !== null) {
      if (!this.supportsDefer) {
        throw new InvalidTask(
          `Backend '${this.alias}' (${this.constructor.name}) does not support runAfter.`,
        );
      }
      checkRunAfter(task.runAfter);
    }
    if (this.queues.size > 0 && !this.queues.has(task.queueName)) {
      const valid = [...this.queues].map((q) => `'${q}'`).join(', ');
      throw new InvalidTask(
        `Queue '${task.queueName}' is not valid for backend '${this.alias}' (valid: ${valid}).`,
      );
    }
    if (task.maxAttempts > 1 && !this.supportsRetries) {
      throw new InvalidTask(
        `Backend '${this.alias}' (${this.constructor.name}) does not support retries (task '${task.name}' has maxAttempts ${task.maxAttempts}).`,
      );
    }
    if (task.timeout !== null && !this.supportsTimeout) {
      throw new InvalidTask(
        `Backend '${this.alias}' (${this.constructor.name}) does not support timeouts (task '${task.name}' has timeout ${task.timeout} s).`,
      );
    }
    if (task.uniqueKey !== null && !this.supportsUniqueKey) {
      throw new InvalidTask(
        `Backend '${this.alias}' (${this.constructor.name}) does not support unique keys (task '${task.name}' has uniqueKey '${task.uniqueKey}').`,
      );
    }
  }

  /** Enqueue one run of `task` with `args`. The task has been validated already. */
  abstract enqueue<TReturn>(
    task: Task<TaskArgs, TReturn, any>,
    args: TaskArgs,
  ): Promise<TaskResult<TReturn>>;

  /** Enqueue one run per entry of `argsList`. This default enqueues them one by one. */
  async enqueueMany<TReturn>(
    task: Task<TaskArgs, TReturn, any>,
    argsList: readonly TaskArgs[],
  ): Promise<TaskResult<TReturn>[]> {
    const results: TaskResult<TReturn>[] = [];
    for (const args of argsList) results.push(await this.enqueue(task, args));
    return results;
  }

  /** Fetch a result by id. */
  // eslint-disable-next-line @typescript-eslint/require-await -- the default only refuses
  async getResult(id: string): Promise<TaskResult> {
    void id;
    throw new TaskBackendUnsupported(
      this.alias,
      this.constructor.name,
      'retrieving or refreshing results',
    );
  }

  /**
   * Cancel the task result `id` and resolve with its state: CANCELLED if it had not
   * started; still RUNNING, with its `signal` aborted, if it was running (it becomes CANCELLED
   * when it stops). Throws `TaskAlreadyFinished` for a SUCCESSFUL or FAILED result; a
   * CANCELLED one is returned as it is.
   */
  // eslint-disable-next-line @typescript-eslint/require-await -- the default only refuses
  async cancel(id: string): Promise<TaskResult> {
    void id;
    throw new TaskBackendUnsupported(this.alias, this.constructor.name, 'cancelling tasks');
  }

  /** Return messages describing configuration problems; empty when all is well. */
  check(): string[] {
    return [];
  }

  /** Release what the backend holds (threads, connections). */
  async close(): Promise<void> {}
}

/** A class that builds a task backend from its configuration entry. */
export type TaskBackendClass<TOptions = any> = new (
  init: BackendInit<TOptions>,
) => BaseTaskBackend<TOptions>;
