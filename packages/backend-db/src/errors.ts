/** The errors of the database backend, each a `TaskException` carrying what explains it. */
import { TaskException } from '@djtasks/tasks';

/**
 * A task row that cannot become a `TaskResult` here: a column whose value cannot be decoded
 * (a timestamp, a JSON column, an unknown status) or a task no loaded module defines. A worker
 * ends such a row FAILED with this error and goes on with the others.
 */
export class BadTaskRow extends TaskException {
  override name = 'BadTaskRow';
  /** The id of the row. */
  readonly taskId: string;
  /** The column that could not be read, or `task_name` for an unknown task. */
  readonly column: string;

  constructor(taskId: string, column: string, problem: string, options?: ErrorOptions) {
    super(`Task result ${taskId}: column ${column} ${problem}`, options);
    this.taskId = taskId;
    this.column = column;
  }
}

/** A value read from the database that is not a timestamp djtasks can use (e.g. `'-infinity'`). */
export class UnreadableTimestamp extends TaskException {
  override name = 'UnreadableTimestamp';
  /** The value as the driver returned it. */
  readonly value: unknown;

  constructor(value: unknown) {
    super(`cannot read a timestamp from ${describeValue(value)}`);
    this.value = value;
  }
}

/**
 * The database named in the configuration cannot be used as it is: an unsupported URL scheme,
 * a database or file that does not exist, or a server that refuses the connection.
 */
export class DatabaseConfigurationError extends TaskException {
  override name = 'DatabaseConfigurationError';
  /** The `database` option (or ORM description) at fault, with any password removed. */
  readonly database: string;

  constructor(database: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.database = database;
  }
}

/** A short printable form of a raw column value for an error message. */
export function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === 'number' || typeof value === 'bigint') text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** A `Worker` option that is not valid; the message names it and the value given. */
export class InvalidWorkerOptions extends TaskException {
  override name = 'InvalidWorkerOptions';
}

/**
 * An enqueue with a unique key found the key held, but the holder finished before it could be
 * read, again and again: the key is being taken and freed faster than the enqueue can settle.
 */
export class UniqueKeyContention extends TaskException {
  override name = 'UniqueKeyContention';
  readonly taskName: string;
  readonly uniqueKey: string;

  constructor(taskName: string, uniqueKey: string, rounds: number) {
    super(
      `Task '${taskName}' with uniqueKey '${uniqueKey}': the key was taken and freed again ${rounds} times while enqueueing; nothing was enqueued.`,
    );
    this.taskName = taskName;
    this.uniqueKey = uniqueKey;
  }
}
