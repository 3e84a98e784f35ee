/**
 * The SQL of the task admin API's statistics (`task-admin-stats.ts`): what was enqueued,
 * started and finished in a time window, by queue and bucket, and the wait- and run-time
 * percentiles of the window. Every statement reads its window through an index, never the
 * whole table:
 * - enqueued: the `(backend_name, enqueued_at, id)` index of migration 0006;
 * - finished: the partial `finished_at` index over finished rows;
 * - started (by `started_at`, the first start of each task): a row that started in the window
 *   is either finished since the window began (the finished index), or READY for a retry, or
 *   RUNNING (the partial ready and lease indexes, which hold only those rows), so three index
 *   reads joined with UNION ALL find them without an index of its own on `started_at`.
 */
import type { EntityManager } from '@mikro-orm/sql';
import { dbDate, type DialectName } from './dialect.ts';
import { TASK_RESULT_TABLE as T } from './schema.ts';

/** The window of a statistics query: `[since, until)` in buckets of `bucketMs`. */
export interface StatsWindow {
  backendName: string;
  since: Date;
  until: Date;
  bucketMs: number;
}

/** The percentiles asked for, in percent, as nearest-rank percentiles. */
export const PERCENTILES = [50, 95, 99] as const;

const FINISHED = `status in ('SUCCESSFUL', 'FAILED', 'CANCELLED')`;

/** Milliseconds between two timestamp columns. */
function msBetween(dialect: DialectName, from: string, to: string): string {
  return dialect === 'postgresql'
    ? `(extract(epoch from (${to} - ${from})) * 1000)::bigint`
    : `(${to} - ${from})`;
}

/** The bucket (0, 1, ...) a timestamp column falls in, counted from the window's start. */
function bucketOf(dialect: DialectName, column: string): string {
  return dialect === 'postgresql'
    ? `floor((extract(epoch from ${column}) * 1000 - ?) / ?)::bigint`
    : `((${column} - ?) / ?)`;
}

/** Rows counted per queue, bucket (and status, for finished rows). */
export interface BucketCountRow {
  queue_name: string;
  bucket: unknown;
  status?: string;
  n: unknown;
}

/** Results enqueued in the window, per queue and bucket. */
export async function selectEnqueuedBuckets(
  em: EntityManager,
  dialect: DialectName,
  window: StatsWindow,
): Promise<BucketCountRow[]> {
  const since = window.since.getTime();
  return em.execute<BucketCountRow[]>(
    `select queue_name, ${bucketOf(dialect, 'enqueued_at')} as bucket, count(*) as n from ${T} ` +
      `where backend_name = ? and enqueued_at >= ? and enqueued_at < ? group by 1, 2 order by 1, 2`,
    [
      since,
      window.bucketMs,
      window.backendName,
      dbDate(dialect, window.since),
      dbDate(dialect, window.until),
    ],
  );
}

/** Results finished in the window, per queue, bucket and status. */
export async function selectFinishedBuckets(
  em: EntityManager,
  dialect: DialectName,
  window: StatsWindow,
): Promise<BucketCountRow[]> {
  const since = window.since.getTime();
  return em.execute<BucketCountRow[]>(
    `select queue_name, ${bucketOf(dialect, 'finished_at')} as bucket, status, count(*) as n from ${T} ` +
      `where ${FINISHED} and finished_at >= ? and finished_at < ? and backend_name = ? ` +
      `group by 1, 2, 3 order by 1, 2, 3`,
    [
      since,
      window.bucketMs,
      dbDate(dialect, window.since),
      dbDate(dialect, window.until),
      window.backendName,
    ],
  );
}

/**
 * A subquery of the rows first started in the window, with `queue_name`, `started_at` and the
 * other columns named in `columns`; see the file's comment for why it is three index reads.
 */
function startedRows(
  dialect: DialectName,
  window: StatsWindow,
  columns: string,
): { sql: string; params: unknown[] } {
  const since = dbDate(dialect, window.since);
  const until = dbDate(dialect, window.until);
  const started = `started_at >= ? and started_at < ? and backend_name = ?`;
  const sql =
    `select ${columns} from ${T} where ${FINISHED} and finished_at >= ? and ${started} ` +
    `union all select ${columns} from ${T} where status = 'READY' and ${started} ` +
    `union all select ${columns} from ${T} where status = 'RUNNING' and ${started}`;
  const params = [
    since,
    since,
    until,
    window.backendName,
    since,
    until,
    window.backendName,
    since,
    until,
    window.backendName,
  ];
  return { sql, params };
}

/** Results first started in the window, per queue and bucket. */
export async function selectStartedBuckets(
  em: EntityManager,
  dialect: DialectName,
  window: StatsWindow,
): Promise<BucketCountRow[]> {
  const rows = startedRows(dialect, window, 'queue_name, started_at');
  return em.execute<BucketCountRow[]>(
    `select queue_name, ${bucketOf(dialect, 'started_at')} as bucket, count(*) as n ` +
      `from (${rows.sql}) s group by 1, 2 order by 1, 2`,
    [window.since.getTime(), window.bucketMs, ...rows.params],
  );
}

/**
 * A duration at one of the percentile ranks, of its queue (`rq` of `nq`) or of all queues
 * together (`ra` of `na`), or both.
 */
export interface PercentileRow {
  queue_name: string;
  ms: unknown;
  rq: unknown;
  nq: unknown;
  ra: unknown;
  na: unknown;
}

/**
 * The durations at the nearest-rank percentile ranks (rank ceil(p × n / 100) of n, ascending)
 * of what `durations` selects (columns `queue_name`, `ms`), ranked per queue and over all
 * queues in one pass: two `row_number()` windows over the window's rows, the same SQL on both
 * databases, so both give the same answer.
 */
async function selectPercentiles(
  em: EntityManager,
  durations: { sql: string; params: unknown[] },
): Promise<PercentileRow[]> {
  const at = (rank: string, n: string) =>
    PERCENTILES.map((p) => `${rank} = (${n} * ${p} + 99) / 100`).join(' or ');
  return em.execute<PercentileRow[]>(
    `with d as (${durations.sql}), ` +
      `r as (select queue_name, ms, ` +
      `row_number() over (partition by queue_name order by ms) as rq, ` +
      `count(*) over (partition by queue_name) as nq, ` +
      `row_number() over (order by ms) as ra, count(*) over () as na from d) ` +
      `select queue_name, ms, rq, nq, ra, na from r where ${at('rq', 'nq')} or ${at('ra', 'na')}`,
    durations.params,
  );
}

/**
 * Wait time (from when a task could first run, its enqueue or its later `runAfter`, to its
 * first start) of the tasks first started in the window.
 */
export async function selectWaitPercentiles(
  em: EntityManager,
  dialect: DialectName,
  window: StatsWindow,
): Promise<PercentileRow[]> {
  const due =
    dialect === 'postgresql'
      ? `greatest(enqueued_at, coalesce(run_after, enqueued_at))`
      : `max(enqueued_at, coalesce(run_after, enqueued_at))`;
  const rows = startedRows(
    dialect,
    window,
    `queue_name, ${msBetween(dialect, due, 'started_at')} as ms`,
  );
  return selectPercentiles(em, rows);
}

/**
 * Run time (the last attempt's start to its end) of the SUCCESSFUL and FAILED results that
 * finished in the window; cancelled ones are left out (a cancel cuts a run short).
 */
export async function selectRunPercentiles(
  em: EntityManager,
  dialect: DialectName,
  window: StatsWindow,
): Promise<PercentileRow[]> {
  return selectPercentiles(em, {
    sql:
      `select queue_name, ${msBetween(dialect, 'last_attempted_at', 'finished_at')} as ms from ${T} ` +
      `where ${FINISHED} and finished_at >= ? and finished_at < ? and backend_name = ? ` +
      `and status <> 'CANCELLED' and last_attempted_at is not null`,
    params: [dbDate(dialect, window.since), dbDate(dialect, window.until), window.backendName],
  });
}
