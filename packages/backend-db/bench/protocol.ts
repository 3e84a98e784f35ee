/** Messages between the harness and a worker process (`worker-process.ts`), over Node's IPC channel. */

/** Harness to worker process. */
export type ToWorker =
  /** Start the worker; report `ran` once `expect` tasks have run. */
  | { type: 'start'; expect: number }
  /** Report CPU and latencies, then stop the worker gracefully and exit. */
  | { type: 'stop' };

/** Worker process to harness. */
export type FromWorker =
  /** Modules loaded and the worker connected, not taking tasks yet. */
  | { type: 'ready' }
  /** The worker has started (`ms` after `start`). */
  | { type: 'started'; ms: number }
  /** `count` tasks have run (sent once, when the expected number is reached). */
  | { type: 'ran'; count: number }
  /**
   * On `stop`, before stopping: CPU of this process since `start` (µs), the tasks run, and the
   * enqueue-to-start latency (µs) of each task that carried an enqueue time.
   */
  | { type: 'report'; cpuUs: number; count: number; latenciesUs: number[] };

/** A monotonic clock shared by every process on the machine (CLOCK_MONOTONIC), in µs. */
export const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
