import { NoReturnValue } from './exceptions.ts';
import { randomId } from './ids.ts';
import { newTaskMetadata } from './instrumentation.ts';
import { normalizeArgs, type JsonValue } from './json.ts';
import { NO_METADATA, type TaskMetadata } from './metadata.ts';
import { isFinishedStatus, TaskResultStatus } from './status.ts';
import type { Task } from './task.ts';
import type { TaskError } from './task-error.ts';

/** Everything a backend knows about one enqueued task. */
export interface TaskResultFields<TReturn = unknown> {
  id: string;
  task: Task<any, TReturn, any>;
  status: TaskResultStatus;
  enqueuedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  lastAttemptedAt: Date | null;
  args: readonly JsonValue[];
  backend: string;
  errors: readonly TaskError[];
  workerIds: readonly string[];
  /** Only meaningful when `status` is `SUCCESSFUL`. */
  returnValue?: TReturn | undefined;
  /** Checked and frozen (see `checkTaskMetadata`). @defaultValue `{}` */
  metadata?: TaskMetadata;
}

let readFields: <TReturn>(result: TaskResult<TReturn>) => Readonly<TaskResultFields<TReturn>>;
/** Set while {@link adoptFields} constructs a result that keeps its fields object as it is. */
let adopting = false;

/**
 * The state of one enqueued task. It is read-only to its users (as Django's frozen
 * dataclass): assigning an attribute throws in strict mode. It does not change by itself:
 * call `refresh()` to load the backend's current state into it.
 */
export class TaskResult<TReturn = unknown> {
  #fields: TaskResultFields<TReturn>;

  static {
    readFields = (result) => result.#fields;
  }

  constructor(fields: TaskResultFields<TReturn>) {
    this.#fields = adopting ? fields : { ...fields };
  }

  /** Unique id, a string of fewer than 64 characters. */
  get id(): string {
    return this.#fields.id;
  }
  /** The task that was enqueued, with any `using()` changes. */
  get task(): Task<any, TReturn, any> {
    return this.#fields.task;
  }
  get status(): TaskResultStatus {
    return this.#fields.status;
  }
  /** When it was enqueued. */
  get enqueuedAt(): Date | null {
    return this.#fields.enqueuedAt;
  }
  /** When its first attempt began. */
  get startedAt(): Date | null {
    return this.#fields.startedAt;
  }
  /** When it finished: successfully, not, or cancelled. */
  get finishedAt(): Date | null {
    return this.#fields.finishedAt;
  }
  /** When its most recent attempt began. */
  get lastAttemptedAt(): Date | null {
    return this.#fields.lastAttemptedAt;
  }
  /** The arguments, normalised through JSON. */
  get args(): readonly JsonValue[] {
    return this.#fields.args;
  }
  /** The alias of the backend it was enqueued on. */
  get backend(): string {
    return this.#fields.backend;
  }
  /** One entry per failed attempt, oldest first. */
  get errors(): readonly TaskError[] {
    return this.#fields.errors;
  }
  /** The id of the worker of each attempt, oldest first. */
  get workerIds(): readonly string[] {
    return this.#fields.workerIds;
  }

  /**
   * Context that travels with the task, set when it was enqueued by the metadata hooks of
   * `addTaskInstrumentation` (a trace context, a tenant): string values, at most
   * `TASK_METADATA_MAX_BYTES` as JSON. Read-only.
   */
  get metadata(): TaskMetadata {
    return this.#fields.metadata ?? NO_METADATA;
  }

  /** The number of attempts so far, counting one that is running. */
  get attempts(): number {
    return this.#fields.workerIds.length;
  }

  /** Whether the task has finished (`SUCCESSFUL`, `FAILED` or `CANCELLED`). */
  get isFinished(): boolean {
    return isFinishedStatus(this.#fields.status);
  }

  /** What the task returned. Throws `NoReturnValue` unless the task finished successfully. */
  get returnValue(): TReturn {
    switch (this.#fields.status) {
      case TaskResultStatus.SUCCESSFUL:
        return this.#fields.returnValue as TReturn;
      case TaskResultStatus.FAILED:
        throw new NoReturnValue(this.#fields.status, 'Task failed');
      case TaskResultStatus.CANCELLED:
        throw new NoReturnValue(this.#fields.status, 'Task was cancelled');
      case TaskResultStatus.READY:
      case TaskResultStatus.RUNNING:
        throw new NoReturnValue(this.#fields.status, 'Task has not finished yet');
    }
  }

  /** Load the backend's current state of this result into it, in place. */
  async refresh(): Promise<void> {
    const fresh = await this.task.getBackend().getResult(this.id);
    this.#fields = fresh.#fields as TaskResultFields<TReturn>;
  }

  /**
   * Cancel the task, on backends that support it (`supportsCancel`), and load its new state.
   * A READY (or deferred) task becomes `CANCELLED` and never starts; a RUNNING task has its
   * `signal` aborted with a `TaskCancelled` reason and ends `CANCELLED` when it stops.
   * Cancelling a finished task throws `TaskAlreadyFinished`; cancelling twice is harmless.
   */
  async cancel(): Promise<void> {
    const fresh = await this.task.getBackend().cancel(this.id);
    this.#fields = fresh.#fields as TaskResultFields<TReturn>;
  }
}

/** A result holding `fields` itself (not a copy): for a fields object built fresh here. */
function adoptFields<TReturn>(fields: TaskResultFields<TReturn>): TaskResult<TReturn> {
  adopting = true;
  try {
    return new TaskResult(fields);
  } finally {
    adopting = false;
  }
}

/** A copy of `result` with `changes` applied; `result` itself is unchanged. */
export function withTaskResultChanges<TReturn>(
  result: TaskResult<TReturn>,
  changes: Partial<TaskResultFields<TReturn>>,
): TaskResult<TReturn> {
  // One object built here and adopted as it is: this runs for every transition and signal.
  return adoptFields({ ...readFields(result), ...changes });
}

/**
 * A deep copy of JSON values: a plain copy of the list when every entry is a primitive (the
 * common case: `structuredClone` costs several times more, even for `[1, 2]`).
 */
function copyJsonList(values: readonly JsonValue[]): JsonValue[] {
  for (const value of values) {
    if (typeof value === 'object' && value !== null) return structuredClone(values) as JsonValue[];
  }
  return values.slice();
}

function copyJsonValue<T>(value: T): T {
  return typeof value === 'object' && value !== null ? structuredClone(value) : value;
}

/** A deep enough copy of `result` that changing one never shows in the other. */
export function copyTaskResult<TReturn>(result: TaskResult<TReturn>): TaskResult<TReturn> {
  const fields = readFields(result);
  return adoptFields<TReturn>({
    ...fields,
    args: copyJsonList(fields.args),
    errors: [...fields.errors],
    workerIds: [...fields.workerIds],
    returnValue:
      fields.status === TaskResultStatus.SUCCESSFUL ? copyJsonValue(fields.returnValue) : undefined,
  });
}

/**
 * Build the READY result of a new enqueue: arguments normalised through JSON (throwing a
 * `TaskJsonError` that names the bad value), `enqueuedAt` now, a fresh 32-character id
 * unless `id` is given, `metadata` as given plus what the added instrumentations' metadata
 * hooks return (throwing `InvalidTaskMetadata` / `TaskMetadataTooLarge`).
 */
export function createTaskResult<TReturn>(
  task: Task<any, TReturn, any>,
  args: readonly unknown[],
  options: { id?: string; enqueuedAt?: Date; metadata?: Record<string, string> } = {},
): TaskResult<TReturn> {
  return adoptFields<TReturn>({
    id: options.id ?? randomId(),
    task,
    status: TaskResultStatus.READY,
    enqueuedAt: options.enqueuedAt ?? new Date(),
    startedAt: null,
    finishedAt: null,
    lastAttemptedAt: null,
    args: normalizeArgs(args),
    backend: task.backend,
    errors: [],
    workerIds: [],
    metadata: newTaskMetadata(task, options.metadata),
  });
}
