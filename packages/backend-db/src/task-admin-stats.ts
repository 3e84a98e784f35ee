/**
 * The task admin API's statistics: how many results were enqueued, started and finished per
 * queue over a time window, in buckets (per minute over the last hour, per half hour over the
 * last day...), and the window's wait- and run-time percentiles. The dashboard's overview
 * draws them; the SQL is in `task-admin-stats-queries.ts`.
 */
import type { EntityManager } from '@mikro-orm/sql';
import type { DatabaseBackend } from './backend.ts';
import { dialectOf, readCount } from './dialect.ts';
import { InvalidResultQuery } from './task-admin-errors.ts';
import {
  selectEnqueuedBuckets,
  selectFinishedBuckets,
  selectRunPercentiles,
  selectStartedBuckets,
  selectWaitPercentiles,
  type BucketCountRow,
  type PercentileRow,
  type StatsWindow,
} from './task-admin-stats-queries.ts';

/** The window of {@link taskThroughput} and {@link taskTimings}. */
export interface StatsWindowOptions {
  /** The window's length in minutes (1 to 10080, a week). @defaultValue 60 */
  minutes?: number;
  /** Minutes per bucket of {@link taskThroughput}; must divide `minutes`. @defaultValue 1 */
  bucketMinutes?: number;
  /** The window ends at the end of the bucket holding this time. @defaultValue now */
  now?: Date;
}

/** What happened in one bucket of time (in one queue, or in all). */
export interface ThroughputBucket {
  /** The start of the bucket. */
  start: Date;
  /** Results enqueued in it. */
  enqueued: number;
  /** Results whose first attempt started in it. */
  started: number;
  /** Results that finished in it, by how they ended. */
  successful: number;
  failed: number;
  cancelled: number;
}

/** The result of {@link taskThroughput}. */
export interface Throughput {
  /** The window: `[since, until)`. */
  since: Date;
  until: Date;
  bucketMinutes: number;
  /** Every bucket of the window, oldest first, all queues together. */
  total: ThroughputBucket[];
  /** The same per queue, for each queue with anything in the window (sorted by name). */
  byQueue: { queue: string; buckets: ThroughputBucket[] }[];
}

/** Nearest-rank percentiles of durations, in milliseconds (null when `count` is 0). */
export interface Percentiles {
  /** How many durations the percentiles are of. */
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** The wait and run times of one queue (`queue` null: all queues together). */
export interface QueueTimings {
  queue: string | null;
  /**
   * From when a task could first run (its enqueue, or its `runAfter` if later) to its first
   * start, for the tasks first started in the window.
   */
  wait: Percentiles;
  /** From the last attempt's start to its end, for the SUCCESSFUL and FAILED results finished in the window. */
  run: Percentiles;
}

/** The result of {@link taskTimings}: all queues first, then each queue by name. */
export interface Timings {
  since: Date;
  until: Date;
  queues: QueueTimings[];
}

const MINUTE = 60_000;

function windowOf(backend: DatabaseBackend, options: StatsWindowOptions): StatsWindow {
  const minutes = options.minutes ?? 60;
  const bucketMinutes = options.bucketMinutes ?? 1;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 10_080)
    throw new InvalidResultQuery(
      'minutes',
      `must be a whole number from 1 to 10080 (got ${minutes})`,
    );
  if (!Number.isInteger(bucketMinutes) || bucketMinutes < 1 || minutes % bucketMinutes !== 0)
    throw new InvalidResultQuery(
      'bucketMinutes',
      `must be a whole number of minutes that divides minutes=${minutes} (got ${bucketMinutes})`,
    );
  const now = options.now ?? new Date();
  if (!(now instanceof Date) || Number.isNaN(now.getTime()))
    throw new InvalidResultQuery('now', `must be a valid Date (got ${String(now)})`);
  const bucketMs = bucketMinutes * MINUTE;
  // Buckets are aligned to whole multiples of their length since the epoch, so the same bucket
  // keeps its bounds from one call to the next (the charts do not jitter).
  const until = (Math.floor(now.getTime() / bucketMs) + 1) * bucketMs;
  return {
    backendName: backend.alias,
    since: new Date(until - minutes * MINUTE),
    until: new Date(until),
    bucketMs,
  };
}

async function forkOf(backend: DatabaseBackend): Promise<EntityManager> {
  return (await backend.getOrm()).em.fork() as unknown as EntityManager;
}

/**
 * Count what was enqueued, started and finished (by status) in each bucket of the window
 * ending now, for all queues and per queue. Invalid options throw {@link InvalidResultQuery}.
 */
export async function taskThroughput(
  backend: DatabaseBackend,
  options: StatsWindowOptions = {},
): Promise<Throughput> {
  const window = windowOf(backend, options);
  const em = await forkOf(backend);
  const dialect = dialectOf(em);
  // One connection at a time on SQLite anyway; in sequence keeps the pool free for others.
  const enqueued = await selectEnqueuedBuckets(em, dialect, window);
  const started = await selectStartedBuckets(em, dialect, window);
  const finished = await selectFinishedBuckets(em, dialect, window);
  const count = Math.round((window.until.getTime() - window.since.getTime()) / window.bucketMs);
  const empty = () =>
    Array.from({ length: count }, (_, i) => ({
      start: new Date(window.since.getTime() + i * window.bucketMs),
      enqueued: 0,
      started: 0,
      successful: 0,
      failed: 0,
      cancelled: 0,
    }));
  const total = empty();
  const queues = new Map<string, ThroughputBucket[]>();
  const add = (row: BucketCountRow, field: keyof Omit<ThroughputBucket, 'start'>) => {
    const i = Number(row.bucket);
    if (!(i >= 0 && i < count)) return;
    let buckets = queues.get(row.queue_name);
    if (!buckets) queues.set(row.queue_name, (buckets = empty()));
    const n = readCount(row.n);
    buckets[i]![field] += n;
    total[i]![field] += n;
  };
  for (const row of enqueued) add(row, 'enqueued');
  for (const row of started) add(row, 'started');
  for (const row of finished) {
    add(
      row,
      row.status === 'SUCCESSFUL' ? 'successful' : row.status === 'FAILED' ? 'failed' : 'cancelled',
    );
  }
  return {
    since: window.since,
    until: window.until,
    bucketMinutes: window.bucketMs / MINUTE,
    total,
    byQueue: [...queues.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([queue, buckets]) => ({ queue, buckets })),
  };
}

/** The percentiles of one queue, or of all (`queue` null); a window without any: count 0, nulls. */
function percentilesOf(rows: PercentileRow[], queue: string | null): Percentiles {
  const row = rows.find((r) => r.queue === queue);
  const [p50, p95, p99] = row?.values ?? [];
  return { count: row?.count ?? 0, p50: p50 ?? null, p95: p95 ?? null, p99: p99 ?? null };
}

/**
 * The wait- and run-time percentiles (p50, p95, p99, nearest rank, in milliseconds) of the
 * window ending now, for all queues together and per queue. `bucketMinutes` only places the
 * window's end (the end of the bucket holding now), so that it is the window of
 * {@link taskThroughput} with the same options.
 */
export async function taskTimings(
  backend: DatabaseBackend,
  options: StatsWindowOptions = {},
): Promise<Timings> {
  const window = windowOf(backend, options);
  const em = await forkOf(backend);
  const dialect = dialectOf(em);
  const wait = await selectWaitPercentiles(em, dialect, window);
  const run = await selectRunPercentiles(em, dialect, window);
  const names = new Set<string>();
  for (const row of [...wait, ...run]) if (row.queue !== null) names.add(row.queue);
  const queues: (string | null)[] = [null, ...[...names].sort()];
  return {
    since: window.since,
    until: window.until,
    queues: queues.map((queue) => ({
      queue,
      wait: percentilesOf(wait, queue),
      run: percentilesOf(run, queue),
    })),
  };
}
