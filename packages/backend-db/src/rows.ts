import { Task, TaskError, TaskResult, TaskResultStatus, type JsonValue } from '@djtasks/tasks';
import { getRegisteredTask, registeredTaskNames } from '@djtasks/tasks/backend';
import { readDate } from './dialect.ts';

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
  worker_ids: string;
  errors: string;
  return_value: string | null;
  lease_owner: string | null;
  lease_expires_at: unknown;
}

/** A row that cannot become a `TaskResult` here: its task is unknown or a JSON column does not parse. */
export class BadTaskRow extends Error {
  override name = 'BadTaskRow';
}

function parseColumn(row: TaskRow, column: 'args' | 'worker_ids' | 'errors'): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(row[column]);
  } catch (error) {
    throw new BadTaskRow(
      `Task result ${row.id}: column ${column} is not valid JSON (${(error as Error).message}): ${String(row[column]).slice(0, 200)}`,
      { cause: error },
    );
  }
  if (!Array.isArray(value)) {
    throw new BadTaskRow(
      `Task result ${row.id}: column ${column} must hold a JSON array (got ${String(row[column]).slice(0, 200)})`,
    );
  }
  return value;
}

/** The errors of a row, tolerating a damaged column (an empty list then). */
export function readErrors(row: TaskRow): TaskError[] {
  try {
    return parseColumn(row, 'errors').map((error) =>
      TaskError.fromJSON(
        error as { exceptionClassPath: string; message: string; traceback: string },
      ),
    );
  } catch {
    return [];
  }
}

/** The worker ids of a row, tolerating a damaged column. */
export function readWorkerIds(row: TaskRow): string[] {
  try {
    return parseColumn(row, 'worker_ids').map(String);
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
      `Task result ${row.id} names the task '${row.task_name}', which no loaded task module defines ` +
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
    runAfter: readDate(row.run_after),
  });
}

function parseReturnValue(row: TaskRow): JsonValue | undefined {
  if (row.status !== TaskResultStatus.SUCCESSFUL || row.return_value === null) return undefined;
  try {
    return JSON.parse(row.return_value) as JsonValue;
  } catch (error) {
    throw new BadTaskRow(`Task result ${row.id}: return_value is not valid JSON`, { cause: error });
  }
}

function readStatus(row: TaskRow): TaskResultStatus {
  const status = row.status as TaskResultStatus;
  if (!Object.values(TaskResultStatus).includes(status)) {
    throw new BadTaskRow(`Task result ${row.id} has an unknown status '${row.status}'`);
  }
  return status;
}

/** Build the `TaskResult` a row describes; throws `BadTaskRow` when it cannot. */
export function rowToTaskResult(row: TaskRow, taskModules: readonly string[]): TaskResult {
  const task = taskOfRow(row, taskModules);
  return new TaskResult({
    id: row.id,
    task,
    status: readStatus(row),
    enqueuedAt: readDate(row.enqueued_at),
    startedAt: readDate(row.started_at),
    finishedAt: readDate(row.finished_at),
    lastAttemptedAt: readDate(row.last_attempted_at),
    args: parseColumn(row, 'args') as JsonValue[],
    backend: row.backend_name,
    errors: readErrors(row),
    workerIds: parseColumn(row, 'worker_ids').map(String),
    returnValue: parseReturnValue(row),
  });
}
