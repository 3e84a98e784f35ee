/** The states a task result moves through. */
export const TaskResultStatus = {
  /** Just enqueued, or ready to run again after a failed attempt. */
  READY: 'READY',
  /** An attempt is running. */
  RUNNING: 'RUNNING',
  /** Raised an error on its last attempt, or could not be started. */
  FAILED: 'FAILED',
  /** Finished without error. */
  SUCCESSFUL: 'SUCCESSFUL',
  /** Cancelled before it started, or stopped by a cancellation while it ran; never retried. */
  CANCELLED: 'CANCELLED',
} as const;

/** One of `READY`, `RUNNING`, `FAILED`, `SUCCESSFUL`, `CANCELLED`. */
export type TaskResultStatus = (typeof TaskResultStatus)[keyof typeof TaskResultStatus];

/** Whether `status` is final (`FAILED`, `SUCCESSFUL` or `CANCELLED`). */
export function isFinishedStatus(status: TaskResultStatus): boolean {
  switch (status) {
    case TaskResultStatus.FAILED:
    case TaskResultStatus.SUCCESSFUL:
    case TaskResultStatus.CANCELLED:
      return true;
    case TaskResultStatus.READY:
    case TaskResultStatus.RUNNING:
      return false;
  }
}

const STATUSES = new Set<string>(Object.values(TaskResultStatus));

/** Whether `value` is one of the statuses. */
export function isTaskResultStatus(value: unknown): value is TaskResultStatus {
  return typeof value === 'string' && STATUSES.has(value);
}
