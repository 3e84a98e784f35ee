/**
 * The one codec between a `TaskResult` (and its errors) and plain JSON data: what a worker
 * thread receives and reports, what a database row holds. Dates are epoch milliseconds.
 * Decoding checks every field, so damaged data gives an `InvalidTaskResultData` naming the
 * field, never a half-built result.
 */
import {
  InvalidTask,
  InvalidTaskBackend,
  InvalidTaskMetadata,
  InvalidTaskResultData,
  NoReturnValue,
  TaskAlreadyFinished,
  TaskBackendClosed,
  TaskBackendUnsupported,
  TaskCancelled,
  TaskException,
  TaskJsonError,
  TaskMetadataTooLarge,
  TaskModuleImportError,
  TaskResultDoesNotExist,
  TaskResultMismatch,
  TaskTimeout,
  WorkerLost,
} from './exceptions.ts';
import type { JsonValue } from './json.ts';
import { checkTaskMetadata, NO_METADATA } from './metadata.ts';
import { TaskResult } from './result.ts';
import { isTaskResultStatus, TaskResultStatus } from './status.ts';
import { rebuildTask, type AnyTask, type Task } from './task.ts';
import { getRegisteredTask, registeredTaskNames } from './task-registry.ts';
import { TaskError } from './task-error.ts';

/** A `TaskError` as plain data. */
export interface TaskErrorData {
  exceptionClassPath: string;
  message: string;
  traceback: string;
}

/**
 * A `TaskResult` as plain JSON data. The encoder leaves out a date that is `null`, `errors`
 * and `workerIds` when empty, and `returnValue` unless SUCCESSFUL (a new task's message is
 * half the size); the decoder reads a missing one as `null` or `[]`.
 */
export interface TaskResultData {
  id: string;
  /** The registered name of the task; the function is found by it when decoding. */
  taskName: string;
  /** The task's fields that `using()` may change, as enqueued. */
  priority: number;
  queueName: string;
  /** Epoch ms, or `null`. */
  runAfter?: number | null;
  /** The backend alias. */
  backend: string;
  status: TaskResultStatus;
  enqueuedAt?: number | null;
  startedAt?: number | null;
  finishedAt?: number | null;
  lastAttemptedAt?: number | null;
  args: JsonValue[];
  errors?: TaskErrorData[];
  workerIds?: string[];
  /** Present only when `status` is `SUCCESSFUL`. */
  returnValue?: JsonValue;
  /** The result's metadata; absent when it has none. */
  metadata?: Record<string, string>;
  /** The task's `uniqueKey`; left out when it has none. */
  uniqueKey?: string | null;
}

/** An exception as plain data: a `TaskError`'s fields plus the fields its class carries. */
export interface ExceptionData extends TaskErrorData {
  /** The extra fields of djtasks' exceptions (`path`, `timeout`, `resultId`, …). */
  fields?: Record<string, string>;
}

/** Turn `result` into plain JSON data. */
export function taskResultToData(result: TaskResult): TaskResultData {
  const { task } = result;
  const data: TaskResultData = {
    id: result.id,
    taskName: task.name,
    priority: task.priority,
    queueName: task.queueName,
    backend: result.backend,
    status: result.status,
    args: result.args as JsonValue[],
  };
  if (task.runAfter !== null) data.runAfter = task.runAfter.getTime();
  if (task.uniqueKey !== null) data.uniqueKey = task.uniqueKey;
  if (result.enqueuedAt !== null) data.enqueuedAt = result.enqueuedAt.getTime();
  if (result.startedAt !== null) data.startedAt = result.startedAt.getTime();
  if (result.finishedAt !== null) data.finishedAt = result.finishedAt.getTime();
  if (result.lastAttemptedAt !== null) data.lastAttemptedAt = result.lastAttemptedAt.getTime();
  if (result.errors.length > 0) data.errors = result.errors.map((error) => taskErrorToData(error));
  if (result.workerIds.length > 0) data.workerIds = [...result.workerIds];
  if (result.status === TaskResultStatus.SUCCESSFUL) {
    data.returnValue = result.returnValue as JsonValue;
  }
  if (result.metadata !== NO_METADATA) data.metadata = { ...result.metadata };
  return data;
}

/** Options of {@link taskResultFromData}. */
export interface DecodeOptions {
  /**
   * The task as defined, when the caller has it already; otherwise it is looked up by
   * `taskName` among the tasks defined in this process (or thread).
   */
  task?: AnyTask;
  /** Where to look for a task that is not defined, for the error message. */
  taskModules?: readonly string[];
}

/**
 * Rebuild the `TaskResult` that `data` describes. The task is the registered one with the
 * stored `using()` fields applied, without re-validating it against today's configuration.
 * Throws `InvalidTaskResultData` naming the bad field, or naming the task when it is not defined here.
 */
export function taskResultFromData<TReturn = unknown>(
  data: unknown,
  options: DecodeOptions = {},
): TaskResult<TReturn> {
  const read = new Reader(data);
  const id = read.string('id');
  const taskName = read.string('taskName');
  const status = read.value('status');
  if (!isTaskResultStatus(status)) {
    throw read.bad('status', `is not a task status (got ${JSON.stringify(status) ?? 'nothing'})`);
  }
  const registered = options.task ?? getRegisteredTask(taskName);
  if (!registered) {
    const known = registeredTaskNames();
    const modules = options.taskModules;
    throw read.bad(
      'taskName',
      `names the task '${taskName}', which is not defined here (task modules: ` +
        `${modules?.length ? modules.join(', ') : 'none configured'}; tasks defined: ` +
        `${known.length ? known.join(', ') : 'none'})`,
    );
  }
  const task = rebuildTask(registered, {
    priority: read.number('priority'),
    queueName: read.string('queueName'),
    backend: read.string('backend'),
    runAfter: read.date('runAfter'),
    uniqueKey: read.optionalString('uniqueKey'),
  });
  const errors = read.optionalArray('errors').map((error, index) => {
    const fields = read.nested(error, `errors[${index}]`);
    return new TaskError({
      exceptionClassPath: fields.string('exceptionClassPath'),
      message: fields.string('message'),
      traceback: fields.string('traceback'),
    });
  });
  const workerIds = read.optionalArray('workerIds');
  const badWorkerId = workerIds.findIndex((workerId) => typeof workerId !== 'string');
  if (badWorkerId !== -1) read.nested(workerIds, 'workerIds').string(String(badWorkerId));
  const metadata = read.metadata('metadata');
  return new TaskResult<TReturn>({
    id,
    task: task as Task<any, TReturn, any>,
    status,
    enqueuedAt: read.date('enqueuedAt'),
    startedAt: read.date('startedAt'),
    finishedAt: read.date('finishedAt'),
    lastAttemptedAt: read.date('lastAttemptedAt'),
    args: read.array('args') as JsonValue[],
    backend: task.backend,
    errors,
    workerIds: workerIds as string[],
    returnValue:
      status === TaskResultStatus.SUCCESSFUL ? (read.value('returnValue') as TReturn) : undefined,
    metadata,
  });
}

/** A `TaskError` as plain data. */
export function taskErrorToData(error: TaskError): TaskErrorData {
  return {
    exceptionClassPath: error.exceptionClassPath,
    message: error.message,
    traceback: error.traceback,
  };
}

/** Rebuild a `TaskError` from plain data; throws `InvalidTaskResultData` if a field is missing. */
export function taskErrorFromData(data: unknown): TaskError {
  const read = new Reader(data);
  return new TaskError({
    exceptionClassPath: read.string('exceptionClassPath'),
    message: read.string('message'),
    traceback: read.string('traceback'),
  });
}

/** The djtasks exceptions that {@link exceptionFromData} rebuilds as their own classes. */
const EXCEPTIONS: Record<string, (message: string, fields: Record<string, string>) => Error> = {
  InvalidTask: (message) => new InvalidTask(message),
  InvalidTaskBackend: (message) => new InvalidTaskBackend(message),
  TaskResultDoesNotExist: (message) => new TaskResultDoesNotExist(message),
  TaskResultMismatch: (message) => new TaskResultMismatch(message),
  WorkerLost: (message) => new WorkerLost(message),
  NoReturnValue: (message, fields) => new NoReturnValue(fields.status ?? '', message),
  TaskModuleImportError: (message, fields) =>
    new TaskModuleImportError(fields.module ?? '', message),
  TaskJsonError: (message, fields) => {
    const path = String(fields.path);
    return new TaskJsonError(path, message.slice(path.length + 2));
  },
  InvalidTaskMetadata: (message, fields) => new InvalidTaskMetadata(fields.key ?? '', message),
  TaskMetadataTooLarge: (_message, fields) =>
    new TaskMetadataTooLarge(Number(fields.size), Number(fields.limit)),
  TaskTimeout: (message, fields) => new TaskTimeout(Number(fields.timeout), message),
  TaskCancelled: (message, fields) => new TaskCancelled(fields.resultId ?? '', message),
  TaskAlreadyFinished: (_message, fields) =>
    new TaskAlreadyFinished(fields.resultId ?? '', fields.status ?? ''),
  TaskBackendClosed: (message, fields) => new TaskBackendClosed(fields.backend ?? '', message),
  TaskBackendUnsupported: (message, fields) => {
    const error = new TaskBackendUnsupported(fields.backend ?? '', '', fields.operation ?? '');
    error.message = message;
    return error;
  },
  InvalidTaskResultData: (message, fields) => {
    const error = new InvalidTaskResultData(
      typeof fields.resultId === 'string' ? fields.resultId : undefined,
      String(fields.field),
      '',
    );
    error.message = message;
    return error;
  },
};

/** Describe a thrown value as plain data, keeping the fields of djtasks' exceptions. */
export function exceptionToData(error: unknown): ExceptionData {
  const data: ExceptionData = taskErrorToData(TaskError.fromException(error));
  if (error instanceof TaskException || error instanceof TaskJsonError) {
    const fields: Record<string, string> = {};
    for (const [key, value] of Object.entries(error)) {
      if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause') continue;
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        fields[key] = String(value);
      }
    }
    if (Object.keys(fields).length > 0) data.fields = fields;
  }
  return data;
}

/**
 * Rebuild an exception described by {@link exceptionToData}: djtasks' own exceptions as
 * their classes (so `instanceof` works), any other as an `Error` that `TaskError.fromException`
 * records with the same class name, message and stack.
 */
export function exceptionFromData(data: ExceptionData): Error {
  const build = Object.hasOwn(EXCEPTIONS, data.exceptionClassPath)
    ? EXCEPTIONS[data.exceptionClassPath]
    : undefined;
  let error: Error;
  if (build) {
    error = build(data.message, data.fields ?? {});
  } else {
    error = new Error(data.message);
    error.name = data.exceptionClassPath;
    // TaskError.fromException reads the class name from `error.constructor.name`.
    Object.defineProperty(error, 'constructor', {
      value: { name: data.exceptionClassPath },
      enumerable: false,
    });
  }
  error.stack = data.traceback;
  return error;
}

const isString = (value: unknown): boolean => typeof value === 'string';
const isFiniteNumber = (value: unknown): boolean =>
  typeof value === 'number' && Number.isFinite(value);
const isEpochOrNull = (value: unknown): boolean => value == null || isFiniteNumber(value);

/**
 * Reads checked fields of plain data, throwing `InvalidTaskResultData` that names the field
 * (with its place, e.g. `errors[1].message`). It runs for every task a thread runs, so a field
 * is read directly and a message is built only for a bad one.
 */
class Reader {
  readonly #data: Record<string, unknown>;
  readonly #id: string | undefined;
  readonly #at: string;

  constructor(data: unknown, id?: string, at = '') {
    this.#at = at;
    if (typeof data !== 'object' || data === null || (at === '' && Array.isArray(data))) {
      throw new InvalidTaskResultData(id, at || 'data', 'must be an object');
    }
    this.#data = data as Record<string, unknown>;
    const ownId = this.#data.id;
    this.#id = at === '' && typeof ownId === 'string' ? ownId : id;
  }

  /** A reader of `value`, an object found at `at`. */
  nested(value: unknown, at: string): Reader {
    return new Reader(value, this.#id, at);
  }

  bad(key: string, problem: string): InvalidTaskResultData {
    return new InvalidTaskResultData(this.#id, this.#at ? `${this.#at}.${key}` : key, problem);
  }

  value(key: string): unknown {
    return this.#data[key];
  }

  #typed<T>(key: string, check: (value: unknown) => boolean, what: string): T {
    const value = this.#data[key];
    if (!check(value)) {
      const got =
        value === undefined ? 'nothing' : (JSON.stringify(value)?.slice(0, 100) ?? typeof value);
      throw this.bad(key, `must be ${what} (got ${got})`);
    }
    return value as T;
  }

  string(key: string): string {
    return this.#typed(key, isString, 'a string');
  }

  number(key: string): number {
    return this.#typed(key, isFiniteNumber, 'a number');
  }

  array(key: string): unknown[] {
    return this.#typed(key, Array.isArray, 'an array');
  }

  /** A string, or `null` when the field is `null` or absent. */
  optionalString(key: string): string | null {
    return this.#data[key] == null ? null : this.string(key);
  }

  /** An array, or `[]` when the field is absent. */
  optionalArray(key: string): unknown[] {
    return this.#data[key] === undefined ? [] : this.array(key);
  }

  /** Absent reads as no metadata. */
  metadata(key: string): ReturnType<typeof checkTaskMetadata> {
    const value = this.#data[key];
    if (value === undefined) return NO_METADATA;
    try {
      return checkTaskMetadata(value);
    } catch (error) {
      throw this.bad(key, `is invalid: ${(error as Error).message}`);
    }
  }

  /** Epoch milliseconds as a `Date`; `null` when the field is `null` or absent. */
  date(key: string): Date | null {
    const value = this.#typed<number | null | undefined>(
      key,
      isEpochOrNull,
      'epoch milliseconds or null',
    );
    return value == null ? null : new Date(value);
  }
}
