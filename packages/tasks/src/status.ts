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
} as const;

/** One of `READY`, `RUNNING`, `FAILED`, `SUCCESSFUL`. */
export type TaskResultStatus = (typeof TaskResultStatus)[keyof typeof TaskResultStatus];

/** Whether `status` is final (`FAILED` or `SUCCESSFUL`). */
export function isFinishedStatus(status: TaskResultStatus): boolean {
  switch (status) {
    case TaskResultStatus.FAILED:
    case TaskResultStatus.SUCCESSFUL:
      return true;
    case TaskResultStatus.READY:
    case TaskResultStatus.RUNNING:
      return false;
  }
}
