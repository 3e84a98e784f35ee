import { WorkerLost } from '@djtasks/tasks';

/**
 * A task's worker thread ended while it ran the task: it called `process.exit()`, crashed
 * (an uncaught exception, its memory limit) or was terminated (by `close()`, or after it
 * ignored the signal of its timeout or cancellation). A kind of `WorkerLost`.
 */
export class WorkerThreadError extends WorkerLost {
  override name = 'WorkerThreadError';
}
