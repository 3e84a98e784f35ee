/**
 * What is kept of an error a task attempt raised: data, not a live `Error`, so it has the
 * same shape in the main thread, in a worker thread and in a database row.
 */
export class TaskError {
  /** The error's class name, e.g. `TypeError`; for a thrown non-error, its type. */
  readonly exceptionClassPath: string;
  /** The error's message. */
  readonly message: string;
  /** The stack text, or the message when there is no stack. */
  readonly traceback: string;

  constructor(fields: { exceptionClassPath: string; message: string; traceback: string }) {
    this.exceptionClassPath = fields.exceptionClassPath;
    this.message = fields.message;
    this.traceback = fields.traceback;
    Object.freeze(this);
  }

  /** Describe a thrown value as a `TaskError`. */
  static fromException(error: unknown): TaskError {
    if (error instanceof Error) {
      const message = error.message;
      return new TaskError({
        exceptionClassPath: error.constructor.name || error.name,
        message,
        traceback: error.stack ?? `${error.name}: ${message}`,
      });
    }
    const message = typeof error === 'string' ? error : safeString(error);
    const kind = error === null ? 'null' : typeof error;
    return new TaskError({ exceptionClassPath: kind, message, traceback: message });
  }

  /** Restore a `TaskError` from its plain fields (as stored in JSON). */
  static fromJSON(value: {
    exceptionClassPath: string;
    message: string;
    traceback: string;
  }): TaskError {
    return new TaskError(value);
  }

  toJSON(): { exceptionClassPath: string; message: string; traceback: string } {
    return {
      exceptionClassPath: this.exceptionClassPath,
      message: this.message,
      traceback: this.traceback,
    };
  }
}

function safeString(value: unknown): string {
  try {
    switch (typeof value) {
      case 'string':
        return value;
      case 'number':
      case 'boolean':
      case 'bigint':
      case 'symbol':
        return value.toString();
      case 'undefined':
        return 'undefined';
      default:
        return JSON.stringify(value) ?? typeof value;
    }
  } catch {
    return Object.prototype.toString.call(value);
  }
}
