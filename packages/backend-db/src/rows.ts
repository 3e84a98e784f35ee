/**
 * Reading task rows: every column is decoded here, and a value that cannot be decoded
 * becomes a `BadTaskRow` naming the row and the column, never a crash.
 */
import { Task, TaskError, TaskResult, TaskResultStatus, type JsonValue } from '@djtasks/tasks';
import { getRegisteredTask, registeredTaskNames } from '@djtasks/tasks/backend';
import { readDate } from './dialect.ts';
import { BadTaskRow, describeValue } from './errors.ts';

export { BadTaskRow } from './errors.ts';

/** A task result row as raw queries return it (snake_case columns). */
export interface TaskRow {
  id: string;
  status: string;
  task_name: string;
  queue_name: string;
  backend_name: string;
  priority: number;
  args: string;
  run_after: unknown;
  available_at: unknown;
  enqueued_at: unknown;
  started_at: unknown;
  last_attempted_at: unknown;
  finished_at: unknown;
  attempts: number;
  /** JSON array: the worker of each attempt that has ended (the running one is `lease_owner`). */
  worker_ids: string;
  errors: string;
  return_value: string | null;
  lease_owner: string | null;
  lease_expires_at: unknown;
  claim_token: string | null;
}

type JsonColumn = 'args' | 'worker_ids' | 'errors';

function parseArray(row: TaskRow, column: JsonColumn): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(row[column]);
  } catch (error) {
    throw new BadTaskRow(
      row.id,
      column,
      `is not valid JSON (${(error as Error).message}): ${describeValue(row[column])}`,
      { cause: error },
    );
  }
  if (!Array.isArray(value)) {
    throw new BadTaskRow(
      row.id,
      column,
      `must hold a JSON array (got ${describeValue(row[column])})`,
    );
  }
  return value;
}

function dateColumn(
  row: TaskRow,
  column: 'run_after' | 'enqueued_at' | 'started_at' | 'last_attempted_at' | 'finished_at',
): Date | null {
  try {
    return readDate(row[column]);
  } catch (error) {
    throw new BadTaskRow(row.id, column, (error as Error).message, { cause: error });
  }
}

function readErrorList(row: TaskRow): TaskError[] {
  return parseArray(row, 'errors').map((error, index) => {
    const e = error as Partial<Record<'exceptionClassPath' | 'message' | 'traceback', unknown>>;
    if (
      typeof e !== 'object' ||
      e === null ||
      typeof e.exceptionClassPath !== 'string' ||
      typeof e.message !== 'string'
    ) {
      throw new BadTaskRow(
        row.id,
        'errors',
        `entry ${index} is not a TaskError: ${describeValue(error)}`,
      );
    }
    return TaskError.fromJSON({
      exceptionClassPath: e.exceptionClassPath,
      message: e.message,
      traceback: typeof e.traceback === 'string' ? e.traceback : e.message,
    });
  });
}

/** The errors of a row, or an empty list when the column cannot be read (it is replaced then). */
export function readErrors(row: TaskRow): TaskError[] {
  try {
    return readErrorList(row);
  } catch {
    return [];
  }
}

/** The workers of the ended attempts of a row, or an empty list when the column cannot be read. */
export function readWorkerIds(row: TaskRow): string[] {
  try {
    return parseArray(row, 'worker_ids').map(String);
  } catch {
    return [];
  }
}

/** The task a row names, or a `BadTaskRow` naming it and the tasks this process knows. */
export function taskOfRow(row: TaskRow, taskModules: readonly string[]): Task<any, any, any> {
  const base = getRegisteredTask(row.task_name);
  if (!base) {
    const known = registeredTaskNames();
    throw new BadTaskRow(
      row.id,
      'task_name',
      `names the task '${row.task_name}', which no loaded task module defines ` +
        `(task modules: ${taskModules.length ? taskModules.join(', ') : 'none configured'}; ` +
        `tasks defined: ${known.length ? known.join(', ') : 'none'})`,
    );
  }
  // The row was validated when it was enqueued; rebuilding it skips validation, so a queue
  // removed from the configuration since then does not make the row unreadable.
  return new Task({
    ...base,
    priority: row.priority,
    queueName: row.queue_name,
    backend: row.backend_name,
    runAfter: dateColumn(row, 'run_after'),
  });
}

function parseReturnValue(row: TaskRow): JsonValue | undefined {
  if (row.status !== TaskResultStatus.SUCCESSFUL || row.return_value === null) return undefined;
  try {
    return JSON.parse(row.return_value) as JsonValue;
  } catch (error) {
    throw new BadTaskRow(
      row.id,
      'return_value',
      `is not valid JSON: ${describeValue(row.return_value)}`,
      {
        cause: error,
      },
    );
  }
}

function readStatus(row: TaskRow): TaskResultStatus {
  const status = row.status as TaskResultStatus;
  if (!Object.values(TaskResultStatus).includes(status)) {
    throw new BadTaskRow(
      row.id,
      'status',
      `holds '${row.status}', which this version of djtasks does not know ` +
        `(known: ${Object.values(TaskResultStatus).join(', ')})`,
    );
  }
  return status;
}

/**
 * Build the `TaskResult` a row describes; throws `BadTaskRow` when it cannot. A RUNNING row's
 * worker ids end with the worker holding its lease.
 */
export function rowToTaskResult(row: TaskRow, taskModules: readonly string[]): TaskResult {
  const status = readStatus(row);
  const task = taskOfRow(row, taskModules);
  const workerIds = parseArray(row, 'worker_ids').map(String);
  if (status === TaskResultStatus.RUNNING && row.lease_owner !== null)
    workerIds.push(row.lease_owner);
  return new TaskResult({
    id: row.id,
    task,
    status,
    enqueuedAt: dateColumn(row, 'enqueued_at'),
    startedAt: dateColumn(row, 'started_at'),
    finishedAt: dateColumn(row, 'finished_at'),
    lastAttemptedAt: dateColumn(row, 'last_attempted_at'),
    args: parseArray(row, 'args') as JsonValue[],
    backend: row.backend_name,
    errors: readErrorList(row),
    workerIds,
    returnValue: parseReturnValue(row),
  });
}
