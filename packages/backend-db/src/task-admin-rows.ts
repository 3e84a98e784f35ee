/**
 * What the task admin API (`task-admin.ts`) tells of a row: a summary for lists, every detail
 * for one result. Decoding never throws on a damaged column: it reads as null or empty.
 */
import { TaskResultStatus, type JsonValue } from '@djtasks/tasks';
import type { TaskErrorData } from '@djtasks/tasks/backend';
import { readDateOrNull } from './dialect.ts';
import type { TaskRow } from './rows.ts';

/** What {@link listResults} returns for a result: its row without arguments or return value. */
export interface TaskResultSummary {
  id: string;
  taskName: string;
  queueName: string;
  status: TaskResultStatus;
  priority: number;
  enqueuedAt: Date | null;
  runAfter: Date | null;
  startedAt: Date | null;
  lastAttemptedAt: Date | null;
  finishedAt: Date | null;
  /** Attempts started (the running one included). */
  attempts: number;
  /** The worker of each ended attempt, in order. */
  workerIds: string[];
  /** The worker running it now (RUNNING only). */
  runningOn: string | null;
  /** The last failed attempt's error class and message, if any. */
  lastError: { exceptionClassPath: string; message: string } | null;
  /** When a cancel of the running attempt was asked. */
  cancelRequestedAt: Date | null;
  /** The task's `uniqueKey` (a scheduled tick's is `schedule:<name>:<tick>`), or null. */
  uniqueKey: string | null;
}

/** One attempt of a result, as {@link getResultDetail} tells it. */
export interface TaskAttempt {
  /** 1 for the first attempt. */
  number: number;
  /** The worker that ran it (null for a running attempt whose worker is not recorded). */
  workerId: string | null;
  /** Whether it is the attempt running now. */
  running: boolean;
}

/** Everything stored about one result. */
export interface TaskResultDetail extends TaskResultSummary {
  /** The arguments, or null when the stored JSON cannot be read. */
  args: JsonValue[] | null;
  /** The return value of a SUCCESSFUL result (undefined otherwise, or if unreadable). */
  returnValue?: JsonValue;
  /** One error per failed attempt, oldest first, each with its traceback. */
  errors: TaskErrorData[];
  /** Every attempt started, oldest first. */
  attemptList: TaskAttempt[];
  /** When the lease of the running attempt runs out unless renewed. */
  leaseExpiresAt: Date | null;
}

function parseJson(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function stringArray(text: string): string[] {
  const value = parseJson(text);
  return Array.isArray(value) ? value.map(String) : [];
}

function errorList(text: string): TaskErrorData[] {
  const value = parseJson(text);
  if (!Array.isArray(value)) return [];
  return value.map((entry: unknown) => {
    const e = (entry ?? {}) as Partial<Record<keyof TaskErrorData, unknown>>;
    const text = (value: unknown) => (typeof value === 'string' ? value : '');
    return {
      exceptionClassPath: text(e.exceptionClassPath),
      message: text(e.message),
      traceback: text(e.traceback),
    };
  });
}

/** A summary of a row; never throws on a damaged column (it reads as null or empty). */
export function summaryOf(row: TaskRow): TaskResultSummary {
  const errors = errorList(row.errors);
  const last = errors.at(-1);
  const running = row.status === 'RUNNING';
  return {
    id: row.id,
    taskName: row.task_name,
    queueName: row.queue_name,
    status: row.status as TaskResultStatus,
    priority: Number(row.priority),
    enqueuedAt: readDateOrNull(row.enqueued_at),
    runAfter: readDateOrNull(row.run_after),
    startedAt: readDateOrNull(row.started_at),
    lastAttemptedAt: readDateOrNull(row.last_attempted_at),
    finishedAt: readDateOrNull(row.finished_at),
    attempts: Number(row.attempts),
    workerIds: stringArray(row.worker_ids),
    runningOn: running ? row.lease_owner : null,
    lastError: last ? { exceptionClassPath: last.exceptionClassPath, message: last.message } : null,
    cancelRequestedAt: readDateOrNull(row.cancel_requested_at),
    uniqueKey: row.unique_key ?? null,
  };
}

export function detailOf(row: TaskRow): TaskResultDetail {
  const summary = summaryOf(row);
  const args = parseJson(row.args);
  const attemptList: TaskAttempt[] = [];
  for (let n = 1; n <= summary.attempts; n++) {
    const isRunning = summary.status === TaskResultStatus.RUNNING && n === summary.attempts;
    attemptList.push({
      number: n,
      workerId: isRunning ? summary.runningOn : (summary.workerIds[n - 1] ?? null),
      running: isRunning,
    });
  }
  const detail: TaskResultDetail = {
    ...summary,
    args: Array.isArray(args) ? (args as JsonValue[]) : null,
    errors: errorList(row.errors),
    attemptList,
    leaseExpiresAt: readDateOrNull(row.lease_expires_at),
  };
  if (row.status === 'SUCCESSFUL') {
    const value = parseJson(row.return_value);
    if (value !== undefined) detail.returnValue = value as JsonValue;
  }
  return detail;
}
