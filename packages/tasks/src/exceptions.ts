/** Base class of every djtasks error. Do not throw it directly. */
export class TaskException extends Error {
  override name = 'TaskException';
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
 * `path` names the bad value, e.g. `args[0].when`.
 */
export class TaskJsonError extends TaskException {
  override name = 'TaskJsonError';
  readonly path: string;

  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.path = path;
  }
}
