import { randomId } from './ids.ts';
import { normalizeArgs, type JsonValue } from './json.ts';
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
}

/** The attributes `refresh()` copies from the backend's current copy. */
const REFRESHED = [
  'task',
  'status',
  'enqueuedAt',
  'startedAt',
  'finishedAt',
  'lastAttemptedAt',
  'errors',
  'workerIds',
] as const;

let writeReturnValue: (result: TaskResult<any>, value: unknown) => void;

/**
 * The state of one enqueued task. A result does not change by itself: call `refresh()`
 * to load the backend's current state into it.
 */
export class TaskResult<TReturn = unknown> {
  /** Unique id, a string of fewer than 64 characters. */
  readonly id: string;
  /** The task that was enqueued, with any `using()` changes. */
  readonly task: Task<any, TReturn, any>;
  readonly status: TaskResultStatus;
  /** When it was enqueued. */
  readonly enqueuedAt: Date | null;
  /** When its first attempt began. */
  readonly startedAt: Date | null;
  /** When it finished, successfully or not. */
  readonly finishedAt: Date | null;
  /** When its most recent attempt began. */
  readonly lastAttemptedAt: Date | null;
  /** The arguments, normalised through JSON. */
  readonly args: readonly JsonValue[];
  /** The alias of the backend it was enqueued on. */
  readonly backend: string;
  /** One entry per failed attempt, oldest first. */
  readonly errors: readonly TaskError[];
  /** The id of the worker of each attempt, oldest first. */
  readonly workerIds: readonly string[];
  #returnValue: TReturn | undefined;

  static {
    writeReturnValue = (result, value) => {
      result.#returnValue = value;
    };
  }

  constructor(fields: TaskResultFields<TReturn>) {
    this.id = fields.id;
    this.task = fields.task;
    this.status = fields.status;
    this.enqueuedAt = fields.enqueuedAt;
    this.startedAt = fields.startedAt;
    this.finishedAt = fields.finishedAt;
    this.lastAttemptedAt = fields.lastAttemptedAt;
    this.args = fields.args;
    this.backend = fields.backend;
    this.errors = fields.errors;
    this.workerIds = fields.workerIds;
    this.#returnValue = fields.returnValue;
  }

  /** The number of attempts so far, counting one that is running. */
  get attempts(): number {
    return this.workerIds.length;
  }

  /** Whether the task has finished (`SUCCESSFUL` or `FAILED`). */
  get isFinished(): boolean {
    return isFinishedStatus(this.status);
  }

  /** What the task returned. Throws unless the task finished successfully. */
  get returnValue(): TReturn {
    switch (this.status) {
      case TaskResultStatus.SUCCESSFUL:
        return this.#returnValue as TReturn;
      case TaskResultStatus.FAILED:
        throw new Error('Task failed');
      case TaskResultStatus.READY:
      case TaskResultStatus.RUNNING:
        throw new Error('Task has not finished yet');
    }
  }

  /** Load the backend's current state of this result into it, in place. */
  async refresh(): Promise<void> {
    const fresh = await this.task.getBackend().getResult(this.id);
    updateTaskResult(this, pickFields(fresh));
    writeReturnValue(this, fresh.#returnValue);
  }
}

function pickFields(result: TaskResult<any>): Partial<TaskResultFields<any>> {
  const out: Record<string, unknown> = {};
  for (const key of REFRESHED) out[key] = result[key];
  return out as Partial<TaskResultFields<any>>;
}

/**
 * Change a result's fields in place. For backends: a result is otherwise read-only.
 * `returnValue` is written only when given.
 */
export function updateTaskResult<TReturn>(
  result: TaskResult<TReturn>,
  changes: Partial<TaskResultFields<TReturn>>,
): void {
  const { returnValue, ...rest } = changes;
  Object.assign(result, rest);
  if ('returnValue' in changes) writeReturnValue(result, returnValue);
}

/** A deep enough copy of `result` that changing one never shows in the other. */
export function copyTaskResult<TReturn>(result: TaskResult<TReturn>): TaskResult<TReturn> {
  return new TaskResult<TReturn>({
    id: result.id,
    task: result.task,
    status: result.status,
    enqueuedAt: result.enqueuedAt,
    startedAt: result.startedAt,
    finishedAt: result.finishedAt,
    lastAttemptedAt: result.lastAttemptedAt,
    args: structuredClone(result.args),
    backend: result.backend,
    errors: [...result.errors],
    workerIds: [...result.workerIds],
    returnValue:
      result.status === TaskResultStatus.SUCCESSFUL
        ? structuredClone(result.returnValue)
        : undefined,
  });
}

/**
 * Build the READY result of a new enqueue: arguments normalised through JSON (throwing a
 * `TaskJsonError` that names the bad value), `enqueuedAt` now, a fresh 32-character id
 * unless `id` is given.
 */
export function createTaskResult<TReturn>(
  task: Task<any, TReturn, any>,
  args: readonly unknown[],
  options: { id?: string; enqueuedAt?: Date } = {},
): TaskResult<TReturn> {
  return new TaskResult<TReturn>({
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
  });
}
