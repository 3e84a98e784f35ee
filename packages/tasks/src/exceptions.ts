/** Base class of every djtasks error. Do not throw it directly. */
export class TaskException extends Error {
  override name = 'TaskException';

  // `TaskJsonError` is a `TypeError` (as Python's json raises one) and a djtasks error too;
  // JavaScript has single inheritance, so `instanceof TaskException` admits it explicitly.
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return this === TaskException && value instanceof TaskJsonError;
  }
}

/** A task definition, or a change made with `using()`, is not valid for its backend. */
export class InvalidTask extends TaskException {
  override name = 'InvalidTask';
}

/** A backend alias is not configured, or a backend's configuration is not valid. */
export class InvalidTaskBackend extends TaskException {
  override name = 'InvalidTaskBackend';
}

/** No result with the requested id exists. */
export class TaskResultDoesNotExist extends TaskException {
  override name = 'TaskResultDoesNotExist';
}

/** The requested result belongs to a different task. */
export class TaskResultMismatch extends TaskException {
  override name = 'TaskResultMismatch';
}

/**
 * An argument or a return value cannot survive a round trip through JSON.
 * `path` names the bad value, e.g. `args[0].when`. It is a `TypeError`, as in Django,
 * and `instanceof TaskException` holds for it too.
 */
export class TaskJsonError extends TypeError {
  override name = 'TaskJsonError';
  readonly path: string;

  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.path = path;
  }
}

/**
 * An attempt ran past its task's `timeout`. It is the reason of the task's aborted `signal`
 * and the error recorded for the attempt.
 */
export class TaskTimeout extends TaskException {
  override name = 'TaskTimeout';
  /** The task's timeout, in seconds. */
  readonly timeout: number;

  constructor(timeout: number, message = `The attempt ran past its timeout of ${timeout} s.`) {
    super(message);
    this.timeout = timeout;
  }
}

/** The task was cancelled: the reason of a running task's aborted `signal`. */
export class TaskCancelled extends TaskException {
  override name = 'TaskCancelled';
  /** The id of the cancelled result. */
  readonly resultId: string;

  constructor(resultId: string, message = `Task result '${resultId}' was cancelled.`) {
    super(message);
    this.resultId = resultId;
  }
}

/**
 * The worker running an attempt went away before the attempt ended (its process died, its
 * thread ended, it stopped renewing its lease). Recorded as the attempt's error.
 */
export class WorkerLost extends TaskException {
  override name = 'WorkerLost';
}

/** A finished task (SUCCESSFUL or FAILED) cannot be cancelled; nothing was changed. */
export class TaskAlreadyFinished extends TaskException {
  override name = 'TaskAlreadyFinished';
  readonly resultId: string;
  readonly status: string;

  constructor(resultId: string, status: string) {
    super(`Task result '${resultId}' has already finished (${status}); it cannot be cancelled.`);
    this.resultId = resultId;
    this.status = status;
  }
}

/** A backend was asked for something it does not do (e.g. `getResult`, `cancel`). */
export class TaskBackendUnsupported extends TaskException {
  override name = 'TaskBackendUnsupported';
  /** The backend's alias. */
  readonly backend: string;
  /** What it was asked for: `getResult`, `cancel`, … */
  readonly operation: string;

  constructor(backend: string, className: string, operation: string) {
    super(`Backend '${backend}' (${className}) does not support ${operation}.`);
    this.backend = backend;
    this.operation = operation;
  }
}

/** A backend was used after `close()`. */
export class TaskBackendClosed extends TaskException {
  override name = 'TaskBackendClosed';
  /** The backend's alias. */
  readonly backend: string;

  constructor(backend: string, message: string) {
    super(message);
    this.backend = backend;
  }
}

/**
 * Stored or transmitted result data cannot be read back: a field has the wrong shape, or the
 * task it names is not defined here. `field` names the bad part.
 */
export class InvalidTaskResultData extends TaskException {
  override name = 'InvalidTaskResultData';
  /** The id of the result, when it could be read. */
  readonly resultId: string | undefined;
  /** The field that is wrong, e.g. `errors[1].message` or `taskName`. */
  readonly field: string;

  constructor(
    resultId: string | undefined,
    field: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(
      `Task result ${resultId === undefined ? '(no id)' : `'${resultId}'`}: ${field} ${problem}`,
      options,
    );
    this.resultId = resultId;
    this.field = field;
  }
}

/** A task module could not be imported. `module` names it; `cause` is the import's error. */
export class TaskModuleImportError extends TaskException {
  override name = 'TaskModuleImportError';
  /** The module as resolved (a URL or package name). */
  readonly module: string;

  constructor(module: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.module = module;
  }
}

/**
 * `returnValue` was read on a result that has none: it failed, was cancelled, or has not
 * finished yet (Django raises a ValueError). `status` says which.
 */
export class NoReturnValue extends TaskException {
  override name = 'NoReturnValue';
  /** The result's status when it was read. */
  readonly status: string;

  constructor(status: string, message: string) {
    super(message);
    this.status = status;
  }
}

/** A task result's metadata is not an object of string values. `key` names the bad entry. */
export class InvalidTaskMetadata extends TaskException {
  override name = 'InvalidTaskMetadata';
  /** The offending key, or `''` for the object as a whole. */
  readonly key: string;

  constructor(key: string, message: string) {
    super(message);
    this.key = key;
  }
}

/** A task result's metadata is larger than `TASK_METADATA_MAX_BYTES` once encoded as JSON. */
export class TaskMetadataTooLarge extends InvalidTaskMetadata {
  override name = 'TaskMetadataTooLarge';
  /** Its size as UTF-8 JSON, in bytes. */
  readonly size: number;
  /** The largest size allowed, in bytes. */
  readonly limit: number;

  constructor(size: number, limit: number) {
    super(
      '',
      `Task metadata is ${size} bytes as JSON, more than the limit of ${limit} bytes; ` +
        `metadata carries small context (trace ids, a tenant), not data: pass data as arguments.`,
    );
    this.size = size;
    this.limit = limit;
  }
}

/**
 * A periodic task schedule in the configuration is not valid: a bad cron expression, time
 * zone, catch-up policy or arguments, or (when workers start) a task no loaded module defines.
 */
export class InvalidSchedule extends TaskException {
  override name = 'InvalidSchedule';
  /** The schedule's name in the configuration. */
  readonly schedule: string;

  constructor(schedule: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.schedule = schedule;
  }
}
