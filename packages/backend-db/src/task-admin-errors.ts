/** The named refusals of the task admin API (`task-admin.ts`). */
import { TaskException } from '@djtasks/tasks';

/** A result that cannot be retried: only FAILED and CANCELLED ones can. */
export class TaskNotRetryable extends TaskException {
  override name = 'TaskNotRetryable';
  readonly resultId: string;
  /** Its status when retry was asked. */
  readonly status: string;

  constructor(resultId: string, status: string) {
    super(
      `Task result '${resultId}' is ${status}; only FAILED or CANCELLED results can be retried.`,
    );
    this.resultId = resultId;
    this.status = status;
  }
}

/** A RUNNING result cannot be deleted (cancel it first). */
export class TaskStillRunning extends TaskException {
  override name = 'TaskStillRunning';
  readonly resultId: string;

  constructor(resultId: string) {
    super(`Task result '${resultId}' is RUNNING; cancel it before deleting it.`);
    this.resultId = resultId;
  }
}

/** A filter or cursor of {@link listResults} that is not valid; the message names it. */
export class InvalidResultQuery extends TaskException {
  override name = 'InvalidResultQuery';
  /** The option at fault, e.g. `limit`. */
  readonly option: string;

  constructor(option: string, problem: string) {
    super(`listResults: ${option} ${problem}`);
    this.option = option;
  }
}
