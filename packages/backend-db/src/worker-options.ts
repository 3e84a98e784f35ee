/** The options of a `Worker` and what it reports when it stops. */
import { randomId } from '@djtasks/tasks/backend';
import type { DatabaseBackend } from './backend.ts';
import { InvalidWorkerOptions } from './errors.ts';

/**
 * The defaults of a worker, shared by the `Worker` class and the `djtasks worker` command
 * (which shows them in its help).
 */
export const WORKER_DEFAULTS = {
  backend: 'default',
  queues: ['default'] as readonly string[],
  concurrency: 10,
  prefetch: 0,
  pollIntervalMs: 1000,
  leaseMs: 30_000,
  abortGraceMs: 5000,
} as const;

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
  /**
   * Take part in firing the configured periodic tasks of this backend (each tick is enqueued
   * once across all workers). Off in `batch` mode. @defaultValue true
   */
  schedules?: boolean;
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

/** The options a `Worker` derives from {@link WorkerOptions}, validated. */
export interface ResolvedWorkerOptions {
  workerId: string;
  concurrency: number;
  /** Running plus locally queued tasks at most: concurrency + prefetch. */
  capacity: number;
  /** Claim once this many slots are free. */
  lowWater: number;
  pollIntervalMs: number;
  leaseMs: number;
  abortGraceMs: number;
  queues: readonly string[] | '*';
  excludeQueues: readonly string[];
}

/** Validate `options`, throwing `InvalidWorkerOptions` naming the first bad one. */
export function resolveWorkerOptions(options: WorkerOptions): ResolvedWorkerOptions {
  const workerId = options.workerId ?? randomId();
  if (workerId.trim() === '' || workerId.length > 64) {
    throw new InvalidWorkerOptions(
      `Worker: workerId must be 1 to 64 characters (got '${workerId}').`,
    );
  }
  const concurrency = positive('concurrency', options.concurrency, WORKER_DEFAULTS.concurrency);
  if (!Number.isInteger(concurrency)) {
    throw new InvalidWorkerOptions(
      `Worker: concurrency must be a whole number (got ${concurrency}).`,
    );
  }
  // Off by default: a prefetched task of a worker that dies is charged an attempt it never ran.
  const prefetch = options.prefetch ?? WORKER_DEFAULTS.prefetch;
  if (!Number.isInteger(prefetch) || prefetch < 0) {
    throw new InvalidWorkerOptions(
      `Worker: prefetch must be a whole number, 0 or more (got ${prefetch}).`,
    );
  }
  const capacity = concurrency + prefetch;
  const pollIntervalMs = positive(
    'pollIntervalMs',
    options.pollIntervalMs,
    WORKER_DEFAULTS.pollIntervalMs,
    true,
  );
  const leaseMs = positive('leaseMs', options.leaseMs, WORKER_DEFAULTS.leaseMs);
  if (options.maxTasks !== undefined) positive('maxTasks', options.maxTasks, 1);
  const abortGraceMs = positive(
    'abortGraceMs',
    options.abortGraceMs,
    WORKER_DEFAULTS.abortGraceMs,
    true,
  );
  const queues = options.queues ?? WORKER_DEFAULTS.queues;
  if (options.excludeQueues?.length && queues !== '*') {
    throw new InvalidWorkerOptions("Worker: excludeQueues can only be used with queues: '*'.");
  }
  if (queues !== '*' && queues.length === 0) {
    throw new InvalidWorkerOptions('Worker: queues must name at least one queue, or be "*".');
  }
  return {
    workerId,
    concurrency,
    capacity,
    // Claim once half the capacity is free, so that claims come in batches while the other half runs.
    lowWater: Math.max(1, Math.floor(capacity / 2)),
    pollIntervalMs,
    leaseMs,
    abortGraceMs,
    queues,
    excludeQueues: options.excludeQueues ?? [],
  };
}

function positive(
  name: string,
  value: number | undefined,
  fallback: number,
  allowZero = false,
): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new InvalidWorkerOptions(
      `Worker: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number (got ${String(value)}).`,
    );
  }
  return v;
}
