/** The options of a `Worker` and what it reports when it stops. */
import type { DatabaseBackend } from './backend.ts';

/** Options of {@link Worker}. */
export interface WorkerOptions {
  /** The backend (or its alias) whose tasks to run. @defaultValue "default" */
  backend?: DatabaseBackend | string;
  /** The queues to take tasks from, or `'*'` for all. @defaultValue ["default"] */
  queues?: readonly string[] | '*';
  /** With `queues: '*'`, queues to leave alone. @defaultValue [] */
  excludeQueues?: readonly string[];
  /** Tasks in flight at once in this process. @defaultValue 10 */
  concurrency?: number;
  /**
   * Tasks to claim ahead of free slots and keep in a local queue, so that a claim moves many rows.
   * Their leases are renewed like those of running tasks; a stop puts them back to READY without
   * counting an attempt. It also bounds how many already-claimed lower-priority tasks may start
   * before a newly enqueued higher-priority one. If the process dies, each prefetched task is
   * charged a `WorkerLost` attempt although it never started, so a task with `maxAttempts: 1`
   * can end FAILED unrun; that is why it is off by default (as Graphile Worker's local queue is).
   * @defaultValue 0
   */
  prefetch?: number;
  /** Run what is ready, then stop. @defaultValue false */
  batch?: boolean;
  /** Stop after claiming this many tasks. @defaultValue no limit */
  maxTasks?: number;
  /** This worker's id, unique among workers, at most 64 characters. @defaultValue a random id */
  workerId?: string;
  /** How often to look for tasks when nothing wakes the worker, in ms. @defaultValue 1000 */
  pollIntervalMs?: number;
  /** Wait a random part of `pollIntervalMs` before starting, so that workers started together spread out. @defaultValue true */
  startupDelay?: boolean;
  /** How long a claimed task stays leased without a heartbeat, in ms. @defaultValue 30000 */
  leaseMs?: number;
  /** How often the heartbeat renews leases, in ms. @defaultValue leaseMs / 3 */
  heartbeatIntervalMs?: number;
  /** How often to look for tasks of dead workers (expired leases), in ms. @defaultValue leaseMs / 2 */
  recoveryIntervalMs?: number;
  /** After a forced stop (`abort()`), how long tasks may take to honour their signal before they are released, in ms. @defaultValue 5000 */
  abortGraceMs?: number;
  /** LISTEN for new tasks on PostgreSQL. @defaultValue true */
  listen?: boolean;
  /** Delete finished results older than this many days, once an hour. @defaultValue off */
  retention?: { minAgeDays: number; failedMinAgeDays?: number; intervalMs?: number };
}

/** What a worker did, once it has stopped. */
export interface WorkerSummary {
  workerId: string;
  claimed: number;
  successful: number;
  failed: number;
  retried: number;
  /** Claimed tasks put back to READY, unstarted, when the worker stopped. */
  released: number;
}

export function positive(
  name: string,
  value: number | undefined,
  fallback: number,
  allowZero = false,
): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new RangeError(
      `Worker: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number (got ${String(value)}).`,
    );
  }
  return v;
}
