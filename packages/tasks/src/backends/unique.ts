import type { TaskResult } from '../result.ts';
import { TaskResultStatus } from '../status.ts';
import type { AnyTask } from '../task.ts';

/**
 * The READY or RUNNING result among `results` that holds `task`'s unique key (same task name,
 * same key), or `undefined` when the task has no key or nothing holds it: the check of the
 * in-memory backends, which run in one process and so need no lock.
 */
export function findUniqueHolder(
  results: Iterable<TaskResult>,
  task: AnyTask,
): TaskResult | undefined {
  if (task.uniqueKey === null) return undefined;
  for (const result of results) {
    if (
      result.task.uniqueKey === task.uniqueKey &&
      result.task.name === task.name &&
      (result.status === TaskResultStatus.READY || result.status === TaskResultStatus.RUNNING)
    ) {
      return result;
    }
  }
  return undefined;
}
