/**
 * The task admin API of the database backend: list results with filters and keyset
 * pagination, read one with every attempt, count by queue and status, list workers, and retry,
 * cancel or delete a result. The `djtasks` command and `@djtasks/dashboard` are built on it.
 */
import type { EntityManager } from '@mikro-orm/sql';
import {
  TaskException,
  TaskResultDoesNotExist,
  TaskResultStatus,
  type JsonValue,
} from '@djtasks/tasks';
import type { TaskErrorData } from '@djtasks/tasks/backend';
import type { DatabaseBackend } from './backend.ts';
import { dialectOf, readCount, readDateOrNull } from './dialect.ts';
import { BadTaskRow } from './errors.ts';
import { READY_CHANNEL } from './migrations.ts';
import type { TaskRow } from './rows.ts';
import {
  deleteRow,
  retryRow,
  selectBackendRow,
  selectCounts,
  selectFinishedPerMinute,
  selectRows,
  selectWorkers,
  type RowCursor,
} from './task-admin-queries.ts';

/** A result that cannot be retried: only FAILED and CANCELLED ones can. */
export class TaskNotRetryable extends TaskException {
  override name = 'TaskNotRetryable';
  readonly resultId: string;
  /** Its status when retry was asked. */
  readonly status: string;

  constructor(resultId: string, status: string) {
    super(
      `Task result '${resultId}' is ${status}; only FAILED or CANCELLED results can be retried.`,
    );
    this.resultId = resultId;
    this.status = status;
  }
}

/** A RUNNING result cannot be deleted (cancel it first). */
export class TaskStillRunning extends TaskException {
  override name = 'TaskStillRunning';
  readonly resultId: string;

  constructor(resultId: string) {
    super(`Task result '${resultId}' is RUNNING; cancel it before deleting it.`);
    this.resultId = resultId;
  }
}

/** A filter or cursor of {@link listResults} that is not valid; the message names it. */
export class InvalidResultQuery extends TaskException {
  override name = 'InvalidResultQuery';
  /** The option at fault, e.g. `limit`. */
  readonly option: string;

  constructor(option: string, problem: string) {
    super(`listResults: ${option} ${problem}`);
    this.option = option;
  }
}

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

/** Filters of {@link listResults}; all optional, combined with AND. */
export interface ListResultsOptions {
  /** Only these statuses. */
  status?: TaskResultStatus | readonly TaskResultStatus[];
  /** Only these queues. */
  queue?: string | readonly string[];
  /** Only these tasks (module path names, e.g. `app.tasks.sendEmail`). */
  taskName?: string | readonly string[];
  /** Only results that a worker with this id ran or is running. */
  workerId?: string;
  /** Enqueued at or after this time. */
  enqueuedAfter?: Date;
  /** Enqueued before this time. */
  enqueuedBefore?: Date;
  /** Finished at or after this time. */
  finishedAfter?: Date;
  /** Finished before this time. */
  finishedBefore?: Date;
  /** Only results with an error whose text (class, message or traceback) contains this, ignoring ASCII case. */
  errorText?: string;
  /** At most this many results (1 to 1000). @defaultValue 50 */
  limit?: number;
  /** The `next` cursor of the previous page. */
  after?: string;
}

/** One page of {@link listResults}: newest first. */
export interface ResultPage {
  results: TaskResultSummary[];
  /** Pass as `after` to get the next page; null on the last one. */
  next: string | null;
}

/** Counts of one queue and status, from {@link countsByQueueAndStatus}. */
export interface QueueStatusCount {
  queue: string;
  status: TaskResultStatus;
  count: number;
  /** For READY: the oldest due task's `available_at` (null when none is due). */
  oldestDueAt: Date | null;
}

/** A worker from {@link listWorkers}. */
export interface WorkerInfo {
  workerId: string;
  hostname: string;
  pid: number;
  queues: string;
  startedAt: Date | null;
  lastSeenAt: Date | null;
  lastProgressAt: Date | null;
  /** The ids of the tasks it runs now. */
  running: string[];
}

const STATUSES = new Set<string>(Object.values(TaskResultStatus));

async function forkOf(backend: DatabaseBackend): Promise<EntityManager> {
  return (await backend.getOrm()).em.fork() as unknown as EntityManager;
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
function summaryOf(row: TaskRow): TaskResultSummary {
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
  };
}

function detailOf(row: TaskRow): TaskResultDetail {
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

function list(option: string, value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const values = typeof value === 'string' ? [value] : [...value];
  for (const v of values) {
    if (typeof v !== 'string' || v === '')
      throw new InvalidResultQuery(option, `must be non-empty strings (got ${JSON.stringify(v)})`);
  }
  return values;
}

function date(option: string, value: Date | undefined): Date | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw new InvalidResultQuery(option, `must be a valid Date (got ${String(value)})`);
  return value;
}

/** Encode where a page ended as an opaque string. */
function encodeCursor(cursor: RowCursor): string {
  return Buffer.from(JSON.stringify([cursor.enqueuedAt, cursor.id])).toString('base64url');
}

function decodeCursor(text: string): RowCursor {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString()) as unknown;
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      Number.isFinite(value[0]) &&
      typeof value[1] === 'string'
    ) {
      return { enqueuedAt: value[0] as number, id: value[1] };
    }
  } catch {
    // reported below
  }
  throw new InvalidResultQuery('after', `is not a cursor returned by listResults (got '${text}')`);
}

/**
 * List the backend's results, newest enqueued first, one page at a time: pass the page's
 * `next` as `after` for the following one. Pages are keyset-paginated, so results enqueued
 * while paging never make a row appear twice or be skipped. Invalid options throw
 * {@link InvalidResultQuery}.
 */
export async function listResults(
  backend: DatabaseBackend,
  options: ListResultsOptions = {},
): Promise<ResultPage> {
  const statuses = list('status', options.status);
  for (const s of statuses) {
    if (!STATUSES.has(s))
      throw new InvalidResultQuery(
        'status',
        `must be one of ${[...STATUSES].join(', ')} (got '${s}')`,
      );
  }
  const limit = options.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new InvalidResultQuery('limit', `must be a whole number from 1 to 1000 (got ${limit})`);
  if (options.workerId !== undefined) list('workerId', options.workerId);
  if (options.errorText !== undefined) list('errorText', options.errorText);
  const cursor = options.after === undefined ? null : decodeCursor(options.after);
  const em = await forkOf(backend);
  const rows = await selectRows(
    em,
    dialectOf(em),
    {
      backendName: backend.alias,
      statuses,
      queues: list('queue', options.queue),
      taskNames: list('taskName', options.taskName),
      workerId: options.workerId,
      enqueuedAfter: date('enqueuedAfter', options.enqueuedAfter),
      enqueuedBefore: date('enqueuedBefore', options.enqueuedBefore),
      finishedAfter: date('finishedAfter', options.finishedAfter),
      finishedBefore: date('finishedBefore', options.finishedBefore),
      errorText: options.errorText,
    },
    cursor,
    limit + 1,
  );
  const results = rows.slice(0, limit).map(summaryOf);
  const last = results.at(-1);
  const next =
    rows.length > limit && last?.enqueuedAt
      ? encodeCursor({ enqueuedAt: last.enqueuedAt.getTime(), id: last.id })
      : null;
  return { results, next };
}

/** Everything stored about result `id`: arguments, return value, every attempt and error. Throws `TaskResultDoesNotExist`. */
export async function getResultDetail(
  backend: DatabaseBackend,
  id: string,
): Promise<TaskResultDetail> {
  const row = await selectBackendRow(await forkOf(backend), backend.alias, id);
  if (!row) throw new TaskResultDoesNotExist(id);
  return detailOf(row);
}

/** The number of results per queue and status, with the oldest due READY task of each queue. */
export async function countsByQueueAndStatus(
  backend: DatabaseBackend,
  now: Date = new Date(),
): Promise<QueueStatusCount[]> {
  const em = await forkOf(backend);
  const rows = await selectCounts(em, dialectOf(em), backend.alias, now);
  return rows.map((r) => ({
    queue: r.queue_name,
    status: r.status as TaskResultStatus,
    count: readCount(r.n),
    oldestDueAt: readDateOrNull(r.oldest),
  }));
}

/** Workers whose heartbeat was seen in the last `seenWithinMs` (default 5 minutes), with what each runs. */
export async function listWorkers(
  backend: DatabaseBackend,
  seenWithinMs = 300_000,
): Promise<WorkerInfo[]> {
  const em = await forkOf(backend);
  const { workers, running } = await selectWorkers(
    em,
    dialectOf(em),
    backend.alias,
    new Date(Date.now() - seenWithinMs),
  );
  return workers.map((w) => ({
    workerId: w.id,
    hostname: w.hostname,
    pid: Number(w.pid),
    queues: w.queues,
    startedAt: readDateOrNull(w.started_at),
    lastSeenAt: readDateOrNull(w.last_seen_at),
    lastProgressAt: readDateOrNull(w.last_progress_at),
    running: running.filter((r) => r.lease_owner === w.id).map((r) => r.id),
  }));
}

/**
 * Retry a FAILED or CANCELLED result: the same row becomes READY now for one more attempt,
 * keeping its attempts, errors and worker ids (automatic retries then follow the task's
 * `maxAttempts`, counted over all attempts). Throws {@link TaskNotRetryable} for another
 * status, `TaskResultDoesNotExist` for an unknown id.
 */
export async function retryResult(backend: DatabaseBackend, id: string): Promise<TaskResultDetail> {
  const em = await forkOf(backend);
  const dialect = dialectOf(em);
  const row = await retryRow(em, dialect, backend.alias, id, new Date());
  if (!row) {
    const current = await selectBackendRow(em, backend.alias, id);
    if (!current) throw new TaskResultDoesNotExist(id);
    throw new TaskNotRetryable(id, current.status);
  }
  // Wake listening workers at once (the insert trigger does it for new rows).
  if (dialect === 'postgresql') await em.execute(`select pg_notify(?, '')`, [READY_CHANNEL]);
  return detailOf(row);
}

/**
 * Cancel a READY or RUNNING result through the backend's `cancel()` (a running one stops
 * within about a second). Throws `TaskAlreadyFinished` for a SUCCESSFUL or FAILED one,
 * `TaskResultDoesNotExist` for an unknown id.
 */
export async function cancelResult(
  backend: DatabaseBackend,
  id: string,
): Promise<TaskResultDetail> {
  await getResultDetail(backend, id);
  try {
    await backend.cancel(id);
  } catch (error) {
    // The row is cancelled; only building a TaskResult of a task this process does not define failed.
    if (!(error instanceof BadTaskRow)) throw error;
  }
  return getResultDetail(backend, id);
}

/** Delete a result that is not RUNNING. Throws {@link TaskStillRunning}, or `TaskResultDoesNotExist`. */
export async function deleteResult(backend: DatabaseBackend, id: string): Promise<void> {
  const em = await forkOf(backend);
  if (await deleteRow(em, backend.alias, id)) return;
  const current = await selectBackendRow(em, backend.alias, id);
  if (!current) throw new TaskResultDoesNotExist(id);
  throw new TaskStillRunning(id);
}

/** Results finished in one minute, by how they ended. */
export interface FinishedMinute {
  /** The start of the minute. */
  minute: Date;
  successful: number;
  failed: number;
  cancelled: number;
}

/**
 * Results finished per minute over the last `minutes` minutes (default 60), oldest first,
 * one entry per minute including empty ones.
 */
export async function finishedPerMinute(
  backend: DatabaseBackend,
  minutes = 60,
  now: Date = new Date(),
): Promise<FinishedMinute[]> {
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440)
    throw new InvalidResultQuery(
      'minutes',
      `must be a whole number from 1 to 1440 (got ${minutes})`,
    );
  const end = Math.floor(now.getTime() / 60_000) * 60_000;
  const start = end - (minutes - 1) * 60_000;
  const em = await forkOf(backend);
  const rows = await selectFinishedPerMinute(em, dialectOf(em), backend.alias, new Date(start));
  const series: FinishedMinute[] = Array.from({ length: minutes }, (_, i) => ({
    minute: new Date(start + i * 60_000),
    successful: 0,
    failed: 0,
    cancelled: 0,
  }));
  for (const row of rows) {
    const entry = series[(Number(row.minute) - start) / 60_000];
    if (!entry) continue;
    const n = readCount(row.n);
    if (row.status === 'SUCCESSFUL') entry.successful += n;
    else if (row.status === 'FAILED') entry.failed += n;
    else entry.cancelled += n;
  }
  return series;
}
