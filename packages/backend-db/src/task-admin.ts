/**
 * The task admin API of the database backend: list results with filters and keyset
 * pagination, read one with every attempt, count by queue and status, list workers, and retry,
 * cancel or delete a result. The `djtasks` command and `@djtasks/dashboard` are built on it.
 */
import type { EntityManager } from '@mikro-orm/sql';
import { TaskResultDoesNotExist, TaskResultStatus } from '@djtasks/tasks';
import type { DatabaseBackend } from './backend.ts';
import { dialectOf, readCount, readDateOrNull } from './dialect.ts';
import { BadTaskRow } from './errors.ts';
import { READY_CHANNEL } from './migrations.ts';
import { InvalidResultQuery, TaskNotRetryable, TaskStillRunning } from './task-admin-errors.ts';
import {
  deleteRow,
  retryRow,
  selectBackendRow,
  selectCounts,
  selectRows,
  selectWorkers,
  type RowCursor,
} from './task-admin-queries.ts';
import {
  detailOf,
  summaryOf,
  type TaskResultDetail,
  type TaskResultSummary,
} from './task-admin-rows.ts';

export { InvalidResultQuery, TaskNotRetryable, TaskStillRunning } from './task-admin-errors.ts';
export type { TaskAttempt, TaskResultDetail, TaskResultSummary } from './task-admin-rows.ts';

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
  /** Only results enqueued with this `uniqueKey`. */
  uniqueKey?: string;
  /** Only results whose `uniqueKey` starts with this (e.g. `schedule:nightly:`, a schedule's ticks). */
  uniqueKeyPrefix?: string;
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
  if (options.uniqueKey !== undefined) list('uniqueKey', options.uniqueKey);
  if (options.uniqueKeyPrefix !== undefined) list('uniqueKeyPrefix', options.uniqueKeyPrefix);
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
      uniqueKey: options.uniqueKey,
      uniqueKeyPrefix: options.uniqueKeyPrefix,
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
