/**
 * Reading task rows: every column is decoded here, and a value that cannot be decoded
 * becomes a `BadTaskRow` naming the row and the column, never a crash.
 */
import {
  InvalidTaskResultData,
  TaskError,
  TaskResultStatus,
  type JsonValue,
  type TaskResult,
} from '@djtasks/tasks';
import {
  isTaskResultStatus,
  taskErrorFromData,
  taskResultFromData,
  type TaskErrorData,
  type TaskResultData,
} from '@djtasks/tasks/backend';
import { readMillis } from './dialect.ts';
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
  /** When `cancel()` asked the worker running the task to stop it. */
  cancel_requested_at?: unknown;
  /** JSON object of strings (migration 0004); absent from rows read before it. */
  metadata?: string;
  /** The task's unique key (migration 0005), or null. */
  unique_key?: string | null;
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
): number | null {
  try {
    return readMillis(row[column]);
  } catch (error) {
    throw new BadTaskRow(row.id, column, (error as Error).message, { cause: error });
  }
}

function readErrorList(row: TaskRow): TaskError[] {
  return parseArray(row, 'errors').map((error, index) => {
    try {
      return taskErrorFromData(error);
    } catch (cause) {
      throw new BadTaskRow(
        row.id,
        'errors',
        `entry ${index} is not a TaskError: ${describeValue(error)}`,
        {
          cause,
        },
      );
    }
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

/** The column of the task table that holds each field of the wire codec's `TaskResultData`. */
const COLUMN_OF_FIELD: Record<string, string> = {
  id: 'id',
  taskName: 'task_name',
  priority: 'priority',
  queueName: 'queue_name',
  runAfter: 'run_after',
  backend: 'backend_name',
  status: 'status',
  enqueuedAt: 'enqueued_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  lastAttemptedAt: 'last_attempted_at',
  args: 'args',
  errors: 'errors',
  workerIds: 'worker_ids',
  returnValue: 'return_value',
  metadata: 'metadata',
  uniqueKey: 'unique_key',
};

function readStatus(row: TaskRow): string {
  if (!isTaskResultStatus(row.status)) {
    throw new BadTaskRow(
      row.id,
      'status',
      `holds '${row.status}', which this version of djtasks does not know ` +
        `(known: ${Object.values(TaskResultStatus).join(', ')})`,
    );
  }
  return row.status;
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
      { cause: error },
    );
  }
}

function parseMetadata(row: TaskRow): Record<string, string> {
  try {
    return JSON.parse(row.metadata!) as Record<string, string>;
  } catch (error) {
    throw new BadTaskRow(row.id, 'metadata', `is not valid JSON: ${describeValue(row.metadata)}`, {
      cause: error,
    });
  }
}

/**
 * The wire codec's data of a row: the database's own encodings (timestamps, JSON text) are
 * decoded here, column by column. A RUNNING row's worker ids end with the worker holding its lease.
 */
export function rowToData(row: TaskRow): TaskResultData {
  const status = readStatus(row);
  const workerIds = parseArray(row, 'worker_ids');
  if (status === TaskResultStatus.RUNNING && row.lease_owner !== null)
    workerIds.push(row.lease_owner);
  const data: TaskResultData = {
    id: row.id,
    taskName: row.task_name,
    priority: Number(row.priority),
    queueName: row.queue_name,
    runAfter: dateColumn(row, 'run_after'),
    backend: row.backend_name,
    status: status as TaskResultStatus,
    enqueuedAt: dateColumn(row, 'enqueued_at'),
    startedAt: dateColumn(row, 'started_at'),
    finishedAt: dateColumn(row, 'finished_at'),
    lastAttemptedAt: dateColumn(row, 'last_attempted_at'),
    args: parseArray(row, 'args') as JsonValue[],
    errors: parseArray(row, 'errors') as TaskErrorData[],
    workerIds: workerIds as string[],
  };
  if (status === TaskResultStatus.SUCCESSFUL) data.returnValue = parseReturnValue(row) ?? null;
  if (row.metadata !== undefined && row.metadata !== '{}') data.metadata = parseMetadata(row);
  if (row.unique_key != null) data.uniqueKey = row.unique_key;
  return data;
}

/**
 * Build the `TaskResult` a row describes, through the one wire codec; throws `BadTaskRow`
 * naming the column when it cannot (a value the codec refuses, or a task not defined here).
 */
export function rowToTaskResult(row: TaskRow, taskModules: readonly string[]): TaskResult {
  const data = rowToData(row);
  try {
    return taskResultFromData(data, { taskModules });
  } catch (error) {
    if (!(error instanceof InvalidTaskResultData)) throw error;
    const field = /^[A-Za-z]+/.exec(error.field)?.[0] ?? error.field;
    const column = COLUMN_OF_FIELD[field] ?? field;
    const problem = error.message.replace(/^Task result [^:]*: /, '');
    throw new BadTaskRow(
      row.id,
      column,
      column === 'task_name' ? problem.replace(/^taskName /, '') : `is invalid: ${problem}`,
      { cause: error },
    );
  }
}
