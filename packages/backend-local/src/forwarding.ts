/**
 * Inside a worker thread: the backends a task sees when it enqueues another task. Each alias
 * of the main thread's configuration gets a `ForwardingBackend` that declares the same
 * capabilities and queues and hands `enqueue`, `enqueueMany`, `getResult` and `cancel` to
 * the main thread, where the configured backend does them.
 */
import {
  InvalidTaskBackend,
  type Task,
  type TaskArgs,
  type TaskResult,
  type TasksConfig,
} from '@djtasks/tasks';
import {
  BaseTaskBackend,
  exceptionFromData,
  normalizeArgs,
  taskResultFromData,
  type BackendInit,
  type TaskResultData,
} from '@djtasks/tasks/backend';
import type {
  ForwardedRequest,
  FromThread,
  MirroredBackend,
  TaskOverrides,
  ToThread,
} from './protocol.ts';

/** Sends a request to the main thread and settles with its answer. */
export type Forward = (request: ForwardedRequest) => Promise<TaskResultData[]>;

/** The requests a thread has sent to the main thread and not yet had answered. */
export class PendingRequests {
  readonly #post: (message: FromThread) => void;
  readonly #pending = new Map<number, PromiseWithResolvers<TaskResultData[]>>();
  #nextId = 0;

  constructor(post: (message: FromThread) => void) {
    this.#post = post;
  }

  /** Send `request` to the main thread; settles with its reply. */
  readonly forward: Forward = (request) => {
    const requestId = this.#nextId++;
    const reply = Promise.withResolvers<TaskResultData[]>();
    this.#pending.set(requestId, reply);
    this.#post({ type: 'request', requestId, request });
    return reply.promise;
  };

  /** Settle the request a reply answers. */
  settle(reply: Extract<ToThread, { type: 'reply' }>): void {
    const pending = this.#pending.get(reply.requestId);
    if (!pending) return;
    this.#pending.delete(reply.requestId);
    if ('error' in reply) pending.reject(exceptionFromData(reply.error));
    else pending.resolve(reply.results);
  }

  /** Resolve once no request is waiting for its reply. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) {
      await Promise.allSettled([...this.#pending.values()].map((pending) => pending.promise));
    }
  }
}

/** Options of a {@link ForwardingBackend}: what the main thread's backend declares, and the channel. */
export interface ForwardingOptions {
  mirrored: MirroredBackend;
  forward: Forward;
}

/**
 * Stands in a worker thread for the main thread's backend of the same alias: validates
 * tasks against the same capabilities and queues, and forwards enqueues, `getResult` and
 * `cancel` to the main thread.
 */
export class ForwardingBackend extends BaseTaskBackend<ForwardingOptions> {
  override readonly supportsDefer: boolean;
  override readonly supportsPriority: boolean;
  override readonly supportsGetResult: boolean;
  override readonly supportsRetries: boolean;
  override readonly supportsTimeout: boolean;
  override readonly supportsCancel: boolean;
  override readonly supportsUniqueKey: boolean;
  readonly #forward: Forward;

  constructor(init: BackendInit<ForwardingOptions>) {
    super(init);
    const { mirrored, forward } = init.options;
    if (mirrored.unavailable !== undefined) {
      // The main thread's own message, which names the alias.
      throw new InvalidTaskBackend(mirrored.unavailable);
    }
    this.supportsDefer = mirrored.supportsDefer;
    this.supportsPriority = mirrored.supportsPriority;
    this.supportsGetResult = mirrored.supportsGetResult;
    this.supportsRetries = mirrored.supportsRetries;
    this.supportsTimeout = mirrored.supportsTimeout;
    this.supportsCancel = mirrored.supportsCancel;
    this.supportsUniqueKey = mirrored.supportsUniqueKey;
    this.#forward = forward;
  }

  override async enqueue<TReturn>(
    task: Task<TaskArgs, TReturn, any>,
    args: TaskArgs,
  ): Promise<TaskResult<TReturn>> {
    const [data] = await this.#enqueue(task, [args], false);
    return taskResultFromData<TReturn>(data, { task });
  }

  override async enqueueMany<TReturn>(
    task: Task<TaskArgs, TReturn, any>,
    argsList: readonly TaskArgs[],
  ): Promise<TaskResult<TReturn>[]> {
    const results = await this.#enqueue(task, argsList, true);
    return results.map((data) => taskResultFromData<TReturn>(data, { task }));
  }

  override async getResult(id: string): Promise<TaskResult> {
    if (!this.supportsGetResult) return super.getResult(id);
    const [data] = await this.#forward({ kind: 'getResult', backend: this.alias, id });
    return taskResultFromData(data, { taskModules: this.taskModules });
  }

  override async cancel(id: string): Promise<TaskResult> {
    if (!this.supportsCancel) return super.cancel(id);
    const [data] = await this.#forward({ kind: 'cancel', backend: this.alias, id });
    return taskResultFromData(data, { taskModules: this.taskModules });
  }

  #enqueue(
    task: Task<TaskArgs, unknown, any>,
    argsList: readonly TaskArgs[],
    many: boolean,
  ): Promise<TaskResultData[]> {
    // Checked here so that a value postMessage cannot carry fails as it would in the main thread.
    const normalized = argsList.map((args) => normalizeArgs(args));
    return this.#forward({
      kind: 'enqueue',
      many,
      name: task.name,
      overrides: overridesOf(task),
      argsList: normalized,
    });
  }
}

/**
 * The configuration a worker thread installs: one {@link ForwardingBackend} per alias of
 * the main thread, each class named after the main thread's backend class, so that
 * `validateTask` says the same in both.
 */
export function forwardingConfig(
  backends: Record<string, MirroredBackend>,
  taskModules: readonly string[],
  forward: Forward,
): TasksConfig {
  const entries = Object.entries(backends).map(([alias, mirrored]) => {
    const named = { [mirrored.className]: class extends ForwardingBackend {} };
    return [
      alias,
      {
        backend: named[mirrored.className]!,
        queues: mirrored.queues,
        options: { mirrored, forward },
      },
    ] as const;
  });
  return { backends: Object.fromEntries(entries), taskModules };
}

/** The fields of `task` that `using()` may change. */
function overridesOf(task: Task<TaskArgs, unknown, any>): TaskOverrides {
  return {
    priority: task.priority,
    queueName: task.queueName,
    runAfter: task.runAfter?.getTime() ?? null,
    backend: task.backend,
    uniqueKey: task.uniqueKey,
  };
}
