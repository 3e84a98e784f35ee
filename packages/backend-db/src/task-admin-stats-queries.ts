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
  switch (dialect) {
    case 'postgresql':
      return `(extract(epoch from (${to} - ${from})) * 1000)::bigint`;
    case 'mysql':
      return `(timestampdiff(microsecond, ${from}, ${to}) div 1000)`;
    case 'sqlite':
      return `(${to} - ${from})`;
  }
}

/** The bucket (0, 1, ...) a timestamp column falls in, counted from the window's start. */
function bucketOf(dialect: DialectName, column: string): string {
  switch (dialect) {
    case 'postgresql':
      return `floor((extract(epoch from ${column}) * 1000 - ?) / ?)::bigint`;
    case 'mysql':
      // UTC DATETIME(6): milliseconds since the epoch without the session time zone's say.
      return `floor((timestampdiff(microsecond, '1970-01-01', ${column}) div 1000 - ?) / ?)`;
    case 'sqlite':
      return `((${column} - ?) / ?)`;
  }
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

/** The percentiles of one queue (`queue` null: all queues together), in the order of {@link PERCENTILES}. */
export interface PercentileRow {
  queue: string | null;
  count: number;
  values: (number | null)[];
}

/**
 * The nearest-rank percentiles (the value at rank ceil(p × n / 100) of n, ascending) of the
 * durations that `durations` selects (columns `queue_name`, `ms`), per queue and for all
 * queues together. PostgreSQL: `percentile_disc` (the same definition) over grouping sets.
 * SQLite and MariaDB/MySQL have no such function: `row_number()` windows rank the durations
 * per queue and over all (SQLite in one pass, MariaDB in two statements), and only the rows at
 * the wanted ranks come back. The tests check
 * that both give the same, exact, answers.
 */
async function selectPercentiles(
  em: EntityManager,
  dialect: DialectName,
  durations: { sql: string; params: unknown[] },
): Promise<PercentileRow[]> {
  if (dialect === 'postgresql') {
    const fractions = PERCENTILES.map((p) => p / 100).join(', ');
    const rows = await em.execute<{ queue_name: string | null; n: unknown; ps: unknown[] }[]>(
      `with d as (${durations.sql}) select queue_name, count(*) as n, ` +
        `percentile_disc(array[${fractions}]::float8[]) within group (order by ms) as ps ` +
        `from d group by grouping sets ((queue_name), ())`,
      durations.params,
    );
    return rows.map((r) => ({
      queue: r.queue_name,
      count: Number(r.n),
      values: PERCENTILES.map((_, k) => (r.ps?.[k] == null ? null : Number(r.ps[k]))),
    }));
  }
  const result = new Map<string | null, PercentileRow>();
  const put = (queue: string | null, n: number, rank: number, ms: number) => {
    let row = result.get(queue);
    if (!row) result.set(queue, (row = { queue, count: n, values: PERCENTILES.map(() => null) }));
    PERCENTILES.forEach((p, k) => {
      if (rank === Math.ceil((n * p) / 100)) row.values[k] = ms;
    });
  };
  if (dialect === 'mysql') {
    // MariaDB (10.11) numbers `row_number() over (order by ms)` wrongly when the same select
    // also has a window partitioned by queue (it follows that window's order), so each ranking
    // is its own statement here. `div`: MariaDB's `/` is exact division.
    const at = PERCENTILES.map((p) => `rk = (n * ${p} + 99) div 100`).join(' or ');
    for (const over of ['partition by queue_name', ''] as const) {
      const rows = await em.execute<{ queue_name: string; ms: unknown; rk: unknown; n: unknown }[]>(
        `with d as (${durations.sql}), ` +
          `r as (select queue_name, ms, row_number() over (${over} order by ms) as rk, ` +
          `count(*) over (${over}) as n from d) select queue_name, ms, rk, n from r where ${at}`,
        durations.params,
      );
      for (const r of rows)
        put(over ? r.queue_name : null, Number(r.n), Number(r.rk), Number(r.ms));
    }
    return [...result.values()];
  }
  const at = (rank: string, n: string) =>
    PERCENTILES.map((p) => `${rank} = (${n} * ${p} + 99) / 100`).join(' or ');
  const rows = await em.execute<
    { queue_name: string; ms: unknown; rq: unknown; nq: unknown; ra: unknown; na: unknown }[]
  >(
    `with d as (${durations.sql}), ` +
      `r as (select queue_name, ms, ` +
      `row_number() over (partition by queue_name order by ms) as rq, ` +
      `count(*) over (partition by queue_name) as nq, ` +
      `row_number() over (order by ms) as ra, count(*) over () as na from d) ` +
      `select queue_name, ms, rq, nq, ra, na from r where ${at('rq', 'nq')} or ${at('ra', 'na')}`,
    durations.params,
  );
  for (const r of rows) {
    put(r.queue_name, Number(r.nq), Number(r.rq), Number(r.ms));
    put(null, Number(r.na), Number(r.ra), Number(r.ms));
  }
  return [...result.values()];
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
    dialect === 'sqlite'
      ? `max(enqueued_at, coalesce(run_after, enqueued_at))`
      : `greatest(enqueued_at, coalesce(run_after, enqueued_at))`;
  const rows = startedRows(
    dialect,
    window,
    `queue_name, ${msBetween(dialect, due, 'started_at')} as ms`,
  );
  return selectPercentiles(em, dialect, rows);
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
  return selectPercentiles(em, dialect, {
    sql:
      `select queue_name, ${msBetween(dialect, 'last_attempted_at', 'finished_at')} as ms from ${T} ` +
      `where ${FINISHED} and finished_at >= ? and finished_at < ? and backend_name = ? ` +
      `and status <> 'CANCELLED' and last_attempted_at is not null`,
    params: [dbDate(dialect, window.since), dbDate(dialect, window.until), window.backendName],
  });
}
