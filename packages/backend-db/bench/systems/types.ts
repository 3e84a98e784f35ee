/**
 * What the harness needs from a queue system under test. A row of the benchmark is one
 * `BenchSystem`; adding a database or a peer (e.g. MariaDB) is one more file in this folder
 * listed in `index.ts`.
 */
import type { DatabaseKind } from '../databases.ts';

/** The measures of one round; a system may leave some out (see `BenchSystem.measures`). */
export type Measure = 'enqueue' | 'drain' | 'latency';

/** Enqueues trivial tasks from the harness process. */
export interface Producer {
  /** Enqueue one task carrying `t` (a `process.hrtime` reading in µs, or 0) and wait for the insert. */
  enqueueOne(t: number): Promise<void>;
  /** Enqueue `n` tasks (carrying 0) the way the system recommends for many at once. */
  enqueueBulk(n: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A worker in the worker process, connected but not consuming yet: `start()` begins taking
 * tasks (resolving once started), `stop()` stops it gracefully. Connecting comes first so that
 * a drain times taking tasks, not opening connections.
 */
export interface PreparedWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface BenchSystem {
  /** Command-line id, e.g. `djtasks-pg`. */
  id: string;
  /** Row label in the table. */
  label: string;
  /** Which comparison group the row belongs to (ratios compare groups). */
  family: 'djtasks' | 'graphile' | 'pgboss';
  database: DatabaseKind;
  /** The measures this row takes part in. */
  measures: readonly Measure[];
  /** How the system is configured, in one sentence, for the README. */
  configuration: string;
  /** Documentation the configuration follows. */
  docs: readonly string[];
  /** The version under test. */
  version: string;
  /** Create the system's schema in an empty database (`location`: URL or SQLite file). */
  install(location: string): Promise<void>;
  /** SQL returning one row `{ n }`: the tasks not finished yet. */
  remainingSql: string;
  /** Open a producer (harness process). */
  producer(location: string): Promise<Producer>;
  /**
   * Connect one worker with `concurrency` tasks in flight; `onTask(t)` runs in each task (worker
   * process).
   */
  worker(
    location: string,
    concurrency: number,
    onTask: (t: number) => void,
  ): Promise<PreparedWorker>;
}
