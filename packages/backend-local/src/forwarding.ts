/**
 * Inside a worker thread: the backends a task sees when it enqueues another task. Each alias
 * of the main thread's configuration gets a `ForwardingBackend` that declares the same
 * capabilities and queues and hands `enqueue`, `enqueueMany` and `getResult` to the main
 * thread, where the configured backend does them.
 */
import {
  InvalidTask,
  InvalidTaskBackend,
  Task,
  TaskError,
  TaskJsonError,
  TaskResult,
  TaskResultDoesNotExist,
  TaskResultMismatch,
  TaskResultStatus,
  type TaskArgs,
  type TasksConfig,
} from '@djtasks/tasks';
import {
  BaseTaskBackend,
  getRegisteredTask,
  normalizeArgs,
  type BackendInit,
} from '@djtasks/tasks/backend';
import { errorFromFields } from './errors.ts';
import type {
  ForwardedError,
  ForwardedRequest,
  MirroredBackend,
  FromThread,
  ResultFields,
  TaskOverrides,
  ToThread,
} from './protocol.ts';

/** Sends a request to the main thread and settles with its answer. */
export type Forward = (request: ForwardedRequest) => Promise<ResultFields[]>;

/** The requests a thread has sent to the main thread and not yet had answered. */
export class PendingRequests {
  readonly #post: (message: FromThread) => void;
  readonly #pending = new Map<number, PromiseWithResolvers<ResultFields[]>>();
  #nextId = 0;

  constructor(post: (message: FromThread) => void) {
    this.#post = post;
  }

  /** Send `request` to the main thread; settles with its reply. */
  readonly forward: Forward = (request) => {
    const requestId = this.#nextId++;
    const reply = Promise.withResolvers<ResultFields[]>();
    this.#pending.set(requestId, reply);
    this.#post({ type: 'request', requestId, request });
    return reply.promise;
  };

  /** Settle the request a reply answers. */
  settle(reply: Extract<ToThread, { type: 'reply' }>): void {
    const pending = this.#pending.get(reply.requestId);
    if (!pending) return;
    this.#pending.delete(reply.requestId);
    if ('error' in reply) pending.reject(errorFromMainThread(reply.error));
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
 * tasks against the same capabilities and queues, and forwards enqueues and `getResult`
 * to the main thread.
 */
export class ForwardingBackend extends BaseTaskBackend<ForwardingOptions> {
  override readonly supportsDefer: boolean;
  override readonly supportsPriority: boolean;
  override readonly supportsGetResult: boolean;
  override readonly supportsRetries: boolean;
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
    this.#forward = forward;
  }

  override async enqueue<TReturn>(
    task: Task<TaskArgs, TReturn, any>,
    args: TaskArgs,
  ): Promise<TaskResult<TReturn>> {
    const [fields] = await this.#enqueue(task, [args], false);
    return resultFromFields(fields!, task);
  }

  override async enqueueMany<TReturn>(
    task: Task<TaskArgs, TReturn, any>,
    argsList: readonly TaskArgs[],
  ): Promise<TaskResult<TReturn>[]> {
    const results = await this.#enqueue(task, argsList, true);
    return results.map((fields) => resultFromFields(fields, task));
  }

  override async getResult(id: string): Promise<TaskResult> {
    if (!this.supportsGetResult) return super.getResult(id);
    const [fields] = await this.#forward({ kind: 'getResult', backend: this.alias, id });
    const registered = getRegisteredTask(fields!.name);
    if (!registered) {
      throw new InvalidTask(
        `Task result '${id}' is of task '${fields!.name}', which is not defined in this worker ` +
          `thread (add its module to taskModules).`,
      );
    }
    return resultFromFields(fields!, withOverrides(registered, fields!.overrides));
  }

  #enqueue(
    task: Task<any, any, any>,
    argsList: readonly TaskArgs[],
    many: boolean,
  ): Promise<ResultFields[]> {
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
export function overridesOf(task: Task<any, any, any>): TaskOverrides {
  return {
    priority: task.priority,
    queueName: task.queueName,
    runAfter: task.runAfter?.getTime() ?? null,
    backend: task.backend,
  };
}

/** `registered` with `overrides` applied, without validation; `registered` itself when nothing changes. */
export function withOverrides(
  registered: Task<any, any, any>,
  overrides: TaskOverrides,
): Task<any, any, any> {
  const runAfter = registered.runAfter?.getTime() ?? null;
  if (
    registered.priority === overrides.priority &&
    registered.queueName === overrides.queueName &&
    registered.backend === overrides.backend &&
    runAfter === overrides.runAfter
  ) {
    return registered;
  }
  return new Task({
    ...registered,
    priority: overrides.priority,
    queueName: overrides.queueName,
    backend: overrides.backend,
    runAfter: overrides.runAfter === null ? null : new Date(overrides.runAfter),
  });
}

const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

function resultFromFields<TReturn>(
  fields: ResultFields,
  task: Task<any, TReturn, any>,
): TaskResult<TReturn> {
  return new TaskResult<TReturn>({
    id: fields.id,
    task,
    status: fields.status,
    enqueuedAt: date(fields.enqueuedAt),
    startedAt: date(fields.startedAt),
    finishedAt: date(fields.finishedAt),
    lastAttemptedAt: date(fields.lastAttemptedAt),
    args: fields.args,
    backend: fields.backend,
    errors: fields.errors.map((error) => TaskError.fromJSON(error)),
    workerIds: fields.workerIds,
    returnValue:
      fields.status === TaskResultStatus.SUCCESSFUL ? (fields.returnValue as TReturn) : undefined,
  });
}

const ERROR_CLASSES: Record<string, new (message: string) => Error> = {
  InvalidTask,
  InvalidTaskBackend,
  TaskResultDoesNotExist,
  TaskResultMismatch,
};

/**
 * Rebuild an error the main thread raised while answering a request: djtasks' own errors
 * as their classes (so `instanceof` works), any other with the same class name and message.
 * The stack is the main thread's.
 */
export function errorFromMainThread(fields: ForwardedError): Error {
  const { exceptionClassPath, message, path } = fields;
  let error: Error;
  if (exceptionClassPath === 'TaskJsonError' && path !== undefined) {
    error = new TaskJsonError(path, message.slice(path.length + 2));
  } else if (Object.hasOwn(ERROR_CLASSES, exceptionClassPath)) {
    error = new ERROR_CLASSES[exceptionClassPath]!(message);
  } else {
    return errorFromFields(fields);
  }
  error.stack = fields.traceback;
  return error;
}
